// 联合行动 (/joint-operations): the joint operations of the caller's area; operators plan one
// (units, people, place, time) and record its results (text, counted quantities, the events it
// closed). Every user text goes into the page as text (FQ.h), never as markup.
(function () {
  "use strict";

  const { api, h, fill, toast, short, formData, showErrors, clearErrors, problemText } = FQ;
  const $ = (id) => document.getElementById(id);
  const page = $("jointops-page");
  if (!page) return;
  const canWrite = page.dataset.write === "1";
  const STATUS = FQ.labels("jointOpStatus");
  const ACTIONS = FQ.labels("jointOpActions");
  let units = [];

  // A datetime-local field is read as Beijing time (the district's), whatever the browser's zone.
  const iso = (local) => (local ? local + (local.length === 16 ? ":00" : "") + "+08:00" : "");
  const names = (op) => [op.lead_unit.name + "（牵头）", ...op.units.map((u) => u.name)].join("、");
  const counted = (op) => op.quantities.map((q) => q.name + " " + q.value + " " + q.unit).join("，");

  function row(op) {
    return h("tr", { dataset: { id: op.id, status: op.status } },
      h("td", {}, h("strong", {}, op.name), h("div", { class: "muted" }, op.code + " · " + op.place)),
      h("td", {}, op.org.name),
      h("td", { class: "op-units" }, names(op)),
      h("td", {}, short(op.starts_at), " 至 ", short(op.ends_at)),
      h("td", {}, op.people + " 人"),
      h("td", {}, h("span", { class: "notice-status is-" + (op.status === "done" ? "published" : op.status === "cancelled" ? "withdrawn" : "draft") }, STATUS[op.status] || "")),
      h("td", {}, op.status === "done" ? (counted(op) || op.results) : "—",
        op.events_closed ? h("div", { class: "muted" }, "办结事件 " + op.events_closed + " 件") : null),
      h("td", {}, h("button", { type: "button", class: "btn btn-small btn-secondary", onclick: () => show(op.id) }, "详情")));
  }

  const list = FQ.list({
    path: "/joint-operations", form: $("filters"), target: document.querySelector("#op-table tbody"),
    more: $("load-more"), row: row, size: 20, empty: "暂无联合行动",
  });

  // One operation: its facts, the events it took on, its trail, and for a planned one the
  // results form (text, up to 20 counted quantities, the event codes it closed).
  const details = FQ.latest(); // the operation opened last, not a slower answer for one before
  async function show(id) {
    const current = details();
    const op = await api("/joint-operations/" + id);
    if (!current()) return;
    const box = $("op-detail");
    const fact = (label, ...value) => [h("dt", {}, label), h("dd", {}, ...value)];
    fill(box,
      h("h2", {}, op.name, " ", h("span", { class: "muted" }, op.code)),
      h("dl", { class: "facts" },
        ...fact("区域", op.org.name), ...fact("地点", op.place), ...fact("单位", names(op)),
        ...fact("人数", op.people + " 人"), ...fact("时间", short(op.starts_at) + " 至 " + short(op.ends_at)),
        ...fact("状态", STATUS[op.status] || ""),
        ...(op.results ? fact("成效", op.results) : []),
        ...(op.quantities.length ? fact("数量", counted(op)) : [])),
      h("h3", {}, "关联事件（" + op.events.length + "）"),
      h("ul", { class: "mini-list", id: "op-events" }, op.events.map((e) =>
        h("li", {}, h("a", { href: "/events/" + e.id }, e.code), " ", e.title, " ",
          h("span", { class: "tag" }, FQ.label("status", e.status))))),
      h("h3", {}, "行动记录"),
      h("ol", { class: "timeline" }, op.trail.map((r) => h("li", {}, short(r.at), " ", r.actor, " ",
        h("strong", {}, ACTIONS[r.action] || ""), r.note ? "：" + r.note : ""))),
      canWrite && op.status === "planned" ? resultsForm(op) : null);
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  function quantityRow() {
    return h("div", { class: "quantity-row inline-step" },
      h("input", { type: "text", dataset: { q: "name" }, maxlength: 40, placeholder: "成效名称，如取缔流动摊贩", "aria-label": "成效名称" }),
      h("input", { type: "number", dataset: { q: "value" }, min: 0, step: "any", placeholder: "数量", "aria-label": "数量" }),
      h("input", { type: "text", dataset: { q: "unit" }, maxlength: 8, placeholder: "单位", "aria-label": "单位" }));
  }

  function resultsForm(op) {
    const rows = h("div", { id: "op-quantities" }, quantityRow());
    const form = h("form", { class: "notice-form", id: "results-form", novalidate: true },
      h("label", { class: "wide" }, "行动成效", h("textarea", { name: "results", maxlength: 4000, rows: 3, required: true })),
      h("div", { class: "wide" }, h("span", { class: "muted" }, "成效数量"), rows,
        h("button", { type: "button", class: "btn btn-small btn-secondary", onclick: () => rows.append(quantityRow()) }, "增加一项")),
      h("label", { class: "wide" }, "办结的事件编号（多个用逗号或空格分隔）",
        h("input", { type: "text", name: "event_codes", maxlength: 4000, placeholder: "如 KQ-20261128-0001" })),
      h("p", { class: "form-error", role: "alert", hidden: true }),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "登记结果")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearErrors(form);
      if (!form.reportValidity()) return;
      const data = formData(form);
      const quantities = Array.from(rows.children).map((r) => ({
        name: r.querySelector("[data-q=name]").value.trim(),
        value: Number(r.querySelector("[data-q=value]").value),
        unit: r.querySelector("[data-q=unit]").value.trim(),
      })).filter((q) => q.name);
      try {
        const ids = [];
        for (const code of String(data.event_codes || "").split(/[\s,，、]+/).filter(Boolean)) {
          const found = await api("/events" + FQ.query({ q: code, size: 5 }));
          const hit = found.items.find((x) => x.code === code);
          if (!hit) throw new FQ.ApiError(422, { detail_zh: "找不到编号为 " + code + " 的事件",
            errors: [{ field: "event_codes", reason_zh: "编号不存在或不在您的辖区" }] });
          ids.push(hit.id);
        }
        await api("/joint-operations/" + op.id + "/results", { method: "POST",
          json: { version: op.version, results: data.results, quantities: quantities, event_ids: ids } });
        toast("行动结果已登记", "ok");
        list.load(true);
        show(op.id);
      } catch (error) {
        showErrors(form, error);
      }
    });
    return form;
  }

  async function prepare() {
    const tree = await api("/org/tree?depth=1");
    // A province or city home plans for itself or one of its children; a district for itself or a town.
    const areas = [tree, ...(tree.children || [])].filter((n) => ["province", "city", "district", "town"].includes(n.kind));
    fill($("op-area"), ...areas.map((n) => h("option", { value: n.id }, n.name)));
    units = (await api("/units?size=500")).items.filter((u) => u.active);
    const pick = () => {
      const area = Number($("op-area").value);
      const node = areas.find((n) => n.id === area) || tree;
      // The area's own units; a town also takes its district's departments; the caller's whole
      // area takes every unit it can see (the server checks each lies inside the area).
      const near = units.filter((u) => area === tree.id || u.org.id === area
        || (node.kind === "town" && u.org.kind === "district"));
      fill($("op-lead"), ...near.map((u) => h("option", { value: u.id }, u.name)));
      fill($("op-units"), ...near.map((u) => h("label", { class: "assist-unit" },
        h("input", { type: "checkbox", value: u.id, dataset: { unit: "" } }), " ", u.name)));
    };
    $("op-area").addEventListener("change", pick);
    pick();
    const form = $("op-form");
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearErrors(form);
      if (!form.reportValidity()) return;
      const data = formData(form);
      data.starts_at = iso(data.starts_at);
      data.ends_at = iso(data.ends_at);
      data.unit_ids = Array.from(form.querySelectorAll("input[data-unit]:checked"), (x) => Number(x.value))
        .filter((u) => u !== data.lead_unit_id);
      try {
        const op = await api("/joint-operations", { method: "POST", json: data });
        toast("行动计划已保存", "ok");
        form.reset();
        pick();
        list.load(true);
        show(op.id);
      } catch (error) {
        showErrors(form, error);
      }
    });
  }

  list.load(true);
  if (canWrite) prepare().catch((error) => toast(problemText(error), "error"));
  page.dataset.ready = "true";
})();
