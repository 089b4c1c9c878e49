// 预警: the early warnings of the caller's area or unit, filtered, paged, exported, and signed
// for (签收) with a note by the town or unit concerned.
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

  function row(w) {
    const events = w.event_ids.slice(0, 5).map((id) => h("a", { href: "/events/" + id }, "#" + id));
    const tr = h("tr", { dataset: { id: w.id }, class: String(w.id) === wanted ? "is-selected" : "" },
      h("td", {}, short(w.created_at)),
      h("td", {}, h("span", { class: "status" + (w.status === "open" ? " light-red" : "") }, w.kind_name)),
      h("td", {}, (w.town && w.town.id !== w.place.id ? w.town.name : "") + w.place.name,
        w.unit ? h("div", { class: "muted" }, w.unit.name) : null),
      h("td", {}, w.category_name || "—"),
      h("td", { class: "description" }, w.message,
        h("div", { class: "muted" }, short(w.window_start) + " — " + short(w.window_end))),
      h("td", { class: "num" }, w.observed + " / " + w.expected),
      h("td", {}, events.length ? events.flatMap((a, i) => (i ? [" ", a] : [a])) : "—"),
      h("td", {}, h("span", { class: "status" + (w.status === "acknowledged" ? " status-closed" : "") }, w.status_name)),
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
