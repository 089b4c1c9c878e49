// One analysis meeting (/meetings/{id}): the agenda drafted from the data (the earlier meetings'
// decisions first, each with its light now) for the operator to edit and save; the minutes, who
// was there and the decisions to record, each becoming a tracked task; the decisions' lights.
// Every user text goes into the page as text (FQ.h), never as markup.
(function () {
  "use strict";

  const { api, h, fill, toast, time, problemText, showErrors, clearErrors } = FQ;
  const $ = (id) => document.getElementById(id);
  const page = $("meeting-page");
  if (!page) return;
  const id = page.dataset.id;
  const LIGHT = FQ.labels("taskLight");
  let meeting = null;
  let people = null;
  let agenda = [];

  function lightBadge(light) {
    return light ? h("span", { class: "light light-" + light }, LIGHT[light] || "") : "";
  }

  function fact(term, ...value) {
    return [h("dt", {}, term), h("dd", {}, ...value)];
  }

  function editable() {
    return meeting.can_write && (meeting.status === "scheduled" || meeting.status === "missed");
  }

  // --- the agenda ---------------------------------------------------------------------------
  function itemNode(section, item, index) {
    const ref = item.task ? h("a", { href: "/tasks/" + item.task }, item.task)
      : item.event ? h("a", { href: "/events/" + item.event }, "查看事件") : "";
    if (!editable()) {
      return h("li", {}, h("span", {}, item.text), " ", lightBadge(item.light), " ", ref);
    }
    const input = h("input", { type: "text", value: item.text, maxlength: 500, "aria-label": "议程内容" });
    input.addEventListener("input", () => { item.text = input.value; });
    const remove = h("button", { type: "button", class: "btn btn-small btn-ghost", "aria-label": "删除此项" }, "删除");
    remove.addEventListener("click", () => { section.items.splice(index, 1); renderAgenda(); });
    return h("li", { class: "agenda-item" }, input, lightBadge(item.light), ref, remove);
  }

  function renderAgenda() {
    const nodes = agenda.map((section) => {
      const list = h("ol", { class: "agenda-items" }, ...section.items.map((item, i) => itemNode(section, item, i)));
      const head = h("h3", {}, section.title);
      if (editable()) {
        const add = h("button", { type: "button", class: "btn btn-small btn-secondary" }, "添加一项");
        add.addEventListener("click", () => {
          // The draft says 无 for an empty section: the first item of the operator's replaces it.
          if (section.items.length === 1 && section.items[0].text === "无" && !section.items[0].task) section.items = [];
          section.items.push({ text: "" });
          renderAgenda();
        });
        return h("section", { class: "agenda-section", "data-key": section.key }, head, list, add);
      }
      return h("section", { class: "agenda-section", "data-key": section.key }, head, list);
    });
    fill($("agenda"), ...nodes);
  }

  async function saveAgenda() {
    const sections = agenda.map((s) => ({
      key: s.key, title: s.title,
      items: s.items.filter((i) => (i.text || "").trim()).map((i) => {
        const out = { text: i.text.trim() };
        for (const k of ["task", "event", "warning"]) if (i[k] != null) out[k] = i[k];
        return out;
      }),
    }));
    try {
      render(await api("/meetings/" + id + "/agenda", { method: "PUT", json: { sections: sections, version: meeting.version } }));
      toast("议程已保存", "ok");
    } catch (error) {
      toast(problemText(error), "error");
    }
  }

  async function redraft() {
    try {
      const draft = await api("/meetings/" + id + "/agenda/draft");
      agenda = draft.sections;
      renderAgenda();
      $("agenda-note").textContent = "已按最新数据生成，保存后生效";
    } catch (error) {
      toast(problemText(error), "error");
    }
  }

  // --- holding the meeting ------------------------------------------------------------------
  function decisionRow() {
    const units = people ? people.units : [];
    const users = people ? people.users : [];
    const row = h("div", { class: "decision-row" },
      h("label", {}, "决定事项", h("input", { type: "text", name: "title", maxlength: 200, required: true })),
      h("label", {}, "责任单位", h("select", { name: "owner_unit_id" }, h("option", { value: "" }, "（不指定）"),
        ...units.map((u) => h("option", { value: u.id }, u.name + "（" + u.org + "）")))),
      h("label", {}, "责任人", h("select", { name: "owner_user_id" }, h("option", { value: "" }, "（不指定）"),
        ...users.map((u) => h("option", { value: u.id }, u.name + "（" + u.org + "）")))),
      h("label", {}, "时限（工作日）", h("input", { type: "number", name: "limit_days", min: 1, max: 365, value: 10 })),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "evidence_required" }), " 须上传照片"));
    const remove = h("button", { type: "button", class: "btn btn-small btn-ghost" }, "删除");
    remove.addEventListener("click", () => row.remove());
    row.append(remove);
    return row;
  }

  function holdBody() {
    const form = $("hold-form");
    const decisions = [...document.querySelectorAll("#decision-rows .decision-row")].map((row) => {
      const get = (name) => row.querySelector("[name=" + name + "]");
      const out = { title: get("title").value.trim(), limit_days: parseInt(get("limit_days").value || "10", 10),
        evidence_required: get("evidence_required").checked };
      if (get("owner_unit_id").value) out.owner_unit_id = parseInt(get("owner_unit_id").value, 10);
      if (get("owner_user_id").value) out.owner_user_id = parseInt(get("owner_user_id").value, 10);
      return out;
    });
    const present = [...form.querySelectorAll("input[name=present]:checked")].map((el) => parseInt(el.value, 10));
    return { minutes_text: form.elements.minutes_text.value, present_ids: present, decisions: decisions, version: meeting.version };
  }

  // --- the page -----------------------------------------------------------------------------
  function render(m) {
    meeting = m;
    $("meeting-title").textContent = m.title;
    fill($("meeting-status"), h("span", { class: "meeting-status" + (m.status === "missed" ? " is-missed" : "") }, m.status_name));
    const room = $("meeting-room");
    room.hidden = !m.room;
    if (m.room) room.href = "/rooms/" + Number(m.room.id);
    fill($("meeting-facts"),
      ...fact("会商区域", m.org.name + "（" + m.level_name + "）"),
      ...fact("时间", time(m.scheduled_at)),
      ...fact("地点", m.place || "—"),
      ...fact("研判时段", m.period_start + " 至 " + m.period_end),
      ...fact("类型", m.regular ? "按制度定期召开" : "专题会商"));
    fill($("decision-table").tBodies[0], ...(m.decisions.length ? m.decisions.map((t) => h("tr", {},
      h("td", {}, h("a", { href: "/tasks/" + t.code }, t.code)),
      h("td", {}, t.title),
      h("td", {}, t.owner_name),
      h("td", {}, time(t.due_at)),
      h("td", {}, lightBadge(t.light)),
      h("td", {}, t.status_name))) : [h("tr", {}, h("td", { colspan: 6, class: "muted" }, "暂无决定事项"))]));
    agenda = m.agenda.map((s) => ({ key: s.key, title: s.title, items: s.items.map((i) => Object.assign({}, i)) }));
    renderAgenda();
    $("agenda-note").textContent = m.agenda_stored ? "" : "按数据自动生成的草稿，尚未保存";
    $("agenda-save").hidden = $("agenda-redraft").hidden = !editable();
    // Minutes are recorded once the meeting's time has come (the server refuses earlier ones).
    const ahead = new Date(m.scheduled_at).getTime() > Date.now();
    $("hold-card").hidden = !editable() || ahead;
    $("hold-ahead").hidden = !editable() || !ahead;
    $("hold-ahead-text").textContent = ahead ? "会商定于 " + time(m.scheduled_at) +
      " 召开，届时方可记录纪要、交办决定事项；如已提前召开，请先修改会商时间。" : "";
    $("minutes-card").hidden = !m.minutes_text;
    $("minutes-text").textContent = m.minutes_text || "";
    fill($("attendee-list"), ...(m.attendees.length ? m.attendees.map((a) => h("li", {}, a.name,
      a.present === true ? "（实到）" : a.present === false ? "（缺席）" : ""))
      : [h("li", { class: "muted" }, "未指定参会人员")]));
    fill($("present-list"), ...m.attendees.map((a) => h("label", {},
      h("input", { type: "checkbox", name: "present", value: a.id, checked: true }), " " + a.name)));
    fill($("meeting-trail"), ...m.trail.map((s) => h("li", {}, time(s.at) + " ", h("strong", {}, s.action_name),
      " ", s.actor ? s.actor.name : "系统", s.note ? "：" + s.note : "")));
  }

  async function load() {
    try {
      render(await api("/meetings/" + id));
      if (editable() && !people) {
        people = await api("/meetings/" + id + "/people");
        if (!document.querySelector("#decision-rows .decision-row")) $("decision-rows").append(decisionRow());
      }
    } catch (error) {
      toast(problemText(error), "error");
    }
  }

  $("agenda-save").addEventListener("click", saveAgenda);
  $("agenda-redraft").addEventListener("click", redraft);
  $("decision-add").addEventListener("click", () => $("decision-rows").append(decisionRow()));
  $("hold-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = $("hold-form");
    clearErrors(form);
    const body = holdBody();
    body.decisions = body.decisions.filter((d) => d.title || d.owner_unit_id || d.owner_user_id);
    try {
      render(await api("/meetings/" + id + "/hold", { method: "POST", json: body }));
      toast("会议纪要已保存，决定事项已交办", "ok");
    } catch (error) {
      showErrors(form, error);
    }
  });
  // A meeting held earlier than planned: its time is moved first, then its minutes recorded.
  $("reschedule-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = $("reschedule-form");
    clearErrors(form);
    const value = form.elements.scheduled_at.value;
    if (!value) {
      toast("请填写会商时间", "error");
      return;
    }
    const body = { scheduled_at: value + ":00+08:00", version: meeting.version };
    try {
      render(await api("/meetings/" + id, { method: "PATCH", json: body }));
      toast("会商时间已修改", "ok");
      await load();
    } catch (error) {
      showErrors(form, error);
    }
  });
  load();
})();
