// 预警: the early warnings of the caller's area or unit, filtered, paged, exported, and signed
// for (签收) with a note by the town or unit concerned. Each says in plain words what happened
// (the statistics in a details line beneath), names its events by code, and shows its
// reminders and its climb to the district.
(function () {
  "use strict";

  const { api, h, short, query, toast } = FQ;
  const target = document.querySelector("#warning-table tbody");
  const wanted = new URLSearchParams(location.search).get("id");

  function ackForm(w) {
    const f = h("form", { class: "inline-reply" },
      h("textarea", { name: "note", maxlength: 2000, placeholder: "签收意见（可选）" }),
      h("p", { class: "form-error", hidden: true }),
      h("button", { type: "submit", class: "btn btn-small" }, "签收"));
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await api("/warnings/" + w.id + "/ack", { method: "POST", json: FQ.formData(f) });
        toast("已签收预警 " + w.id, "ok");
        list.load(true);
      } catch (error) {
        FQ.showErrors(f, error);
      }
    });
    return f;
  }

  function events(w) {
    const links = w.events.map((e) => h("a", { href: "/events/" + e.id, class: "event-code", title: e.name }, e.code));
    if (!links.length) return w.event_count ? "共 " + w.event_count + " 起" : "—";
    const more = w.event_count - links.length;
    return h("div", { class: "event-codes" }, links, more > 0 ? h("span", { class: "muted" }, "等 " + w.event_count + " 起") : null);
  }

  // Where the warning stands: its status, the level that has it, what was done and what comes.
  function standing(w) {
    const lines = w.history.map((step) => h("div", { class: "muted history-step", dataset: { step: step.step } },
      step.step_name + " " + short(step.at) + (step.told ? "（" + step.told + " 人）" : "")));
    if (w.status === "open") {
      if (w.remind_at) lines.push(h("div", { class: "muted" }, short(w.remind_at) + " 未签收将再次提醒"));
      if (w.climb_at) lines.push(h("div", { class: "muted" }, short(w.climb_at) + " 未签收将升级至区县级"));
    }
    return [h("span", { class: "status" + (w.status === "acknowledged" ? " status-closed" : "") }, w.status_name),
      w.level === "district" ? h("span", { class: "status light-red level-badge" }, w.level_name) : null, ...lines];
  }

  function row(w) {
    const tr = h("tr", { dataset: { id: w.id }, class: String(w.id) === wanted ? "is-selected" : "" },
      h("td", {}, short(w.created_at)),
      h("td", {}, h("span", { class: "status" + (w.status === "open" ? " light-red" : "") }, w.kind_name)),
      h("td", {}, (w.town && w.town.id !== w.place.id ? w.town.name : "") + w.place.name,
        w.unit ? h("div", { class: "muted" }, w.unit.name) : null),
      h("td", {}, w.category_name || "—"),
      h("td", { class: "description" }, h("div", { class: "warning-message" }, w.message),
        h("div", { class: "muted statistics" }, w.statistics),
        h("div", { class: "muted" }, "时段：" + short(w.window_start) + " 至 " + short(w.window_end))),
      h("td", { class: "related" }, events(w)),
      h("td", { class: "standing" }, standing(w)),
      h("td", { class: "description" }, w.status === "acknowledged"
        ? [w.note || "已签收", h("div", { class: "muted" },
          (w.acknowledged_by ? w.acknowledged_by.name : "") + " " + short(w.acknowledged_at))]
        : ackForm(w)));
    return tr;
  }

  // A late answer to an older query is dropped by FQ.list: it would replace the rows (and a note
  // being typed in them) of the query asked since.
  const list = FQ.list({
    path: "/warnings", paging: "page", row: row, form: document.getElementById("filters"),
    target: target, more: document.getElementById("load-more"), empty: "暂无预警",
    onQuery: (p) => { document.getElementById("export-link").href = "/api/v1/warnings/export" + query(p); },
    onLoad: () => {
      const selected = target.querySelector(".is-selected");
      if (selected) selected.scrollIntoView({ block: "center" });
    },
  });
  list.load(true);
})();
