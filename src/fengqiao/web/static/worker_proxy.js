// The grid worker app's 代办 tab: requests waiting in my grids (接单), the ones I took (递交,
// 办结 with the result, 不予办理 with a reason), a card with the resident's phone (tel:) and the
// trail, and a form to file a request for a resident. Every step posts the version it read.
(function () {
  "use strict";

  const { api, h, short, time, remaining, lightBadge, query, toast } = FQ;
  const $ = (id) => document.getElementById(id);
  if (!$("view-proxy")) return; // a handler's app has no 代办 tab
  const ACTIONS = FQ.labels("proxyActions");
  let segment = "waiting";

  function deadline(r) {
    return r.light ? [lightBadge(r.light), " ", h("span", { class: "muted" }, remaining(r.due_at))] : null;
  }

  function stepForm(r, action) {
    const needsText = action === "complete" || action === "refuse";
    const f = h("form", { class: "proxy-step", dataset: { action: action } },
      needsText ? h("textarea", { name: action === "complete" ? "result" : "note", maxlength: 2000, required: true,
        placeholder: action === "complete" ? "办理结果，如：社保卡已送达本人" : "不予办理的理由" }) : null,
      h("p", { class: "form-error", hidden: true }),
      h("button", { type: "submit", class: "btn btn-small " + (action === "take" || action === "complete" ? "btn-primary" : "btn-secondary") }, ACTIONS[action]));
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const next = await api("/proxy-requests/" + r.id + "/transitions", { method: "POST",
          json: Object.assign({ action: action, version: r.version }, FQ.formData(f)) });
        toast(next.code + " 已" + ACTIONS[action], "ok");
        load();
        if (action === "take") openCard(next);
      } catch (error) {
        FQ.showErrors(f, error);
      }
    });
    return f;
  }

  function card(r) {
    return h("li", { class: "task proxy-task", dataset: { id: r.id, status: r.status } },
      h("h3", {}, r.item.name, " ", h("span", { class: "status" }, r.status_name)),
      h("div", { class: "muted" }, r.code + " · " + r.resident_name + " · " + r.grid.name),
      h("div", {}, deadline(r), " ", h("span", { class: "muted" }, "提出 " + short(r.created_at))),
      r.note ? h("div", { class: "description" }, r.note) : null,
      h("div", { class: "buttons" },
        h("button", { type: "button", class: "btn btn-small btn-ghost", onclick: () => openCard(r) }, "详情"),
        r.actions.filter((a) => a === "take" || a === "submit").map((a) => stepForm(r, a))));
  }

  const details = FQ.latest(); // the request opened last, not a slower answer for one before
  async function openCard(r) {
    const current = details();
    let d;
    try {
      d = await api("/proxy-requests/" + r.id);
    } catch (error) {
      if (current()) toast(FQ.problemText(error), "error");
      return;
    }
    if (!current()) return;
    FQ.fill($("proxy-card"), h("div", { class: "task", id: "proxy-detail", dataset: { id: d.id } },
      h("h3", {}, d.item.name, " ", h("span", { class: "status" }, d.status_name)),
      h("dl", { class: "facts" },
        h("dt", {}, "编号"), h("dd", {}, d.code),
        h("dt", {}, "群众"), h("dd", {}, d.resident_name),
        h("dt", {}, "电话"), h("dd", {}, d.resident_phone.includes("*") ? d.resident_phone
          : h("a", { href: "tel:" + d.resident_phone }, d.resident_phone)),
        d.resident_id_number ? [h("dt", {}, "身份证"), h("dd", {}, d.resident_id_number)] : null,
        d.address ? [h("dt", {}, "地址"), h("dd", {}, d.address)] : null,
        h("dt", {}, "时限"), h("dd", {}, time(d.due_at), " ", deadline(d)),
        d.result ? [h("dt", {}, "结果"), h("dd", {}, d.result)] : null),
      h("ol", { class: "timeline compact" }, d.trail.map((t) => h("li", {},
        h("strong", {}, t.action_name), " ", t.actor ? t.actor.name : "系统", " ",
        h("span", { class: "when" }, short(t.at)), t.note ? h("div", {}, t.note) : null))),
      h("div", { class: "buttons" }, d.actions.map((a) => stepForm(d, a)),
        h("button", { type: "button", class: "btn btn-small btn-ghost", onclick: () => FQ.fill($("proxy-card")) }, "收起"))));
    $("proxy-card").scrollIntoView({ block: "start" });
  }

  // Only the segment chosen last is shown: a slower answer for one chosen before is dropped.
  const loads = FQ.latest();

  async function load() {
    const current = loads();
    const params = segment === "waiting" ? { status: "requested" } : { mine: "true", status: "open" };
    let data;
    try {
      data = await api("/proxy-requests" + query(Object.assign(params, { size: 100 })));
    } catch (error) {
      if (current()) toast(FQ.problemText(error), "error");
      return;
    }
    if (!current()) return;
    FQ.fill($("proxy-list"), data.items.length ? data.items.map(card)
      : h("li", { class: "muted" }, segment === "waiting" ? "本网格暂无待接单的代办" : "您没有办理中的代办"));
    $("proxy-count").textContent = "办理中 " + data.summary.open + " · 超期 " + data.summary.overdue;
    const badge = $("proxy-badge");
    badge.hidden = !data.summary.overdue;
    badge.textContent = String(data.summary.overdue);
  }

  // --- filing for a resident -----------------------------------------------------------------

  let items = new Map();
  let timer = null;
  const searches = FQ.latest(); // the options of the words typed last, not of a slower search before
  $("proxy-item").addEventListener("input", () => {
    const input = $("proxy-item");
    $("proxy-item-id").value = items.has(input.value) ? String(items.get(input.value)) : "";
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const current = searches();
      if (!input.value.trim() || items.has(input.value)) return;
      try {
        const data = await api("/services/search" + query({ q: input.value.trim(), proxy: "true", size: 20 }));
        if (!current()) return;
        items = new Map(data.items.map((i) => [i.name, i.id]));
        FQ.fill($("proxy-item-options"), data.items.map((i) => h("option", { value: i.name }, i.time_limit_text)));
        if (items.has(input.value)) $("proxy-item-id").value = String(items.get(input.value));
      } catch (_error) { /* offline: typing on keeps the old options */ }
    }, 200);
  });

  $("proxy-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target;
    const body = FQ.formData(form);
    if (!body.item_id) {
      FQ.showErrors(form, new FQ.ApiError(422, { detail_zh: "请从列表中选择服务事项",
        errors: [{ field: "item_id", reason_zh: "请从列表中选择服务事项" }] }));
      return;
    }
    try {
      const created = await api("/proxy-requests", { method: "POST", json: body });
      toast("已登记代办 " + created.code, "ok");
      form.reset();
      $("proxy-new").open = false;
      segment = "waiting";
      syncSegments();
      load();
    } catch (error) {
      FQ.showErrors(form, error);
    }
  });

  function syncSegments() {
    for (const b of document.querySelectorAll("#proxy-segments button")) {
      b.setAttribute("aria-pressed", String(b.dataset.segment === segment));
    }
  }

  for (const b of document.querySelectorAll("#proxy-segments button")) {
    b.addEventListener("click", () => { segment = b.dataset.segment; syncSegments(); load(); });
  }
  document.querySelector(".tab-bar [data-tab=proxy]").addEventListener("click", load);
  syncSegments();
  load();
  if (location.hash === "#proxy") document.querySelector(".tab-bar [data-tab=proxy]").click();
})();
