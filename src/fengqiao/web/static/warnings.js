// 预警: the early warnings of the caller's area or unit, filtered, paged, exported, and signed
// for (签收) with a note by the town or unit concerned.
(function () {
  "use strict";

  const { api, h, short, query, toast } = FQ;
  const form = document.getElementById("filters");
  const more = document.getElementById("load-more");
  const target = document.querySelector("#warning-table tbody");
  const wanted = new URLSearchParams(location.search).get("id");
  let page = 1;
  let shown = 0;

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
        load(true);
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

  function params() {
    const out = {};
    for (const el of form.elements) {
      if (el.name && el.value) out[el.name] = el.value;
    }
    return out;
  }

  let latest = 0;

  async function load(reset) {
    if (reset) { page = 1; shown = 0; }
    const mine = ++latest;
    const p = params();
    let data;
    try {
      data = await api("/warnings" + query(Object.assign({}, p, { page: page, size: 50 })));
    } catch (error) {
      FQ.showErrors(form, error);
      return;
    }
    // An answer to an older query that arrives late must not replace the rows (and a note
    // being typed in them) of the query asked since.
    if (mine !== latest) return;
    const rows = data.items.map(row);
    if (reset) FQ.fill(target, ...rows);
    else target.append(...rows);
    target.dataset.query = query(p);  // which query the rows answer (tests wait for it)
    if (reset && !rows.length) FQ.fill(target, h("tr", { class: "muted empty" }, h("td", { colspan: 9 }, "暂无预警")));
    shown += rows.length;
    more.hidden = shown >= data.total;
    document.getElementById("list-shown").textContent = "已显示 " + shown + " 条，共 " + data.total + " 条";
    document.getElementById("export-link").href = "/api/v1/warnings/export" + query(p);
    const selected = target.querySelector(".is-selected");
    if (selected) selected.scrollIntoView({ block: "center" });
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); load(true); });
  more.addEventListener("click", () => { page += 1; load(false); });
  load(true);
})();
