// 事件中心: the filterable list. Filters are the list API's query parameters and live in the
// page's address, so a filtered list can be bookmarked and shared.
(function () {
  "use strict";

  const { api, h, short, time, remaining, lightBadge, statusBadge, query, T } = FQ;
  const form = document.getElementById("filters");

  function params() {
    const out = FQ.filterValues(form);
    // Dates are local days: from the start of the first to the start of the day after the last.
    if (out.created_from) out.created_from = out.created_from + "T00:00:00+08:00";
    if (out.created_to) {
      const next = new Date(out.created_to + "T00:00:00+08:00");
      next.setUTCDate(next.getUTCDate() + 1);
      out.created_to = next.toISOString();
    }
    return out;
  }

  function fillFromAddress() {
    const search = new URLSearchParams(location.search);
    for (const el of form.elements) {
      if (!el.name || !search.has(el.name)) continue;
      const value = search.get(el.name);
      if (el.type === "checkbox") el.checked = value === el.value;
      else if (el.type === "date") el.value = value.slice(0, 10);
      else {
        if (el.tagName === "SELECT" && ![...el.options].some((o) => o.value === value)) {
          el.append(h("option", { value: value }, value));
        }
        el.value = value;
      }
    }
  }

  function row(e) {
    return h("tr", { dataset: { id: e.id } },
      h("td", {}, h("a", { href: "/events/" + e.id }, h("code", {}, e.code))),
      h("td", {}, h("a", { href: "/events/" + e.id, class: "event-title" }, e.title),
        e.urgent ? [" ", h("span", { class: "badge-urgent" }, "紧急")] : null),
      h("td", {}, e.category_name),
      h("td", { class: "num", title: FQ.label("levels", String(e.level)) }, FQ.label("levelsShort", String(e.level))),
      h("td", {}, statusBadge(e.status)),
      h("td", {}, lightBadge(e.light)),
      h("td", { class: "hide-phone" }, e.owner_unit ? e.owner_unit.name : "—"),
      h("td", { class: "hide-phone" }, e.grid.name),
      h("td", {}, short(e.created_at)),
      h("td", { title: time(e.due_at) }, e.due_at ? short(e.due_at) : "—",
        e.due_at && !["closed", "rejected", "voided", "merged"].includes(e.status)
          ? h("div", { class: "muted" }, remaining(e.due_at)) : null));
  }

  const list = FQ.list({
    path: "/events", paging: "cursor", row: row, form: form, params: params,
    target: document.querySelector("#events-table tbody"), more: document.getElementById("load-more"),
    status: document.getElementById("events-shown"), empty: "没有符合条件的事件",
    counted: (shown) => "已显示 " + shown + " 件",
    extra: (reset) => ({ count: reset ? "true" : "" }),  // the total only with the first page
    onQuery: (p) => {
      history.replaceState(null, "", location.pathname + query(Object.fromEntries(
        [...new FormData(form).entries()].filter(([, v]) => v !== ""))));
      document.getElementById("export-csv").href = "/api/v1/events/export.csv" + query(p);
    },
    onLoad: (page) => {
      if (page.total != null) document.getElementById("events-total").textContent = "共 " + FQ.number(page.total) + " 件";
    },
  });

  async function fillChoices() {
    const sources = document.getElementById("filter-source");
    for (const [key, label] of Object.entries(T.source)) sources.append(h("option", { value: key }, label));
    try {
      const [classes, tree] = await Promise.all([api("/categories"), api("/org/tree?depth=1")]);
      const select = document.getElementById("filter-category");
      for (const major of classes.majors) {
        const group = h("optgroup", { label: major.name_zh },
          h("option", { value: major.code }, major.name_zh + "（全部）"),
          classes.categories.filter((c) => c.major_code === major.code)
            .map((c) => h("option", { value: c.code }, c.name_zh)));
        select.append(group);
      }
      const towns = (tree.kind === "town" ? [tree] : tree.children || []).filter((n) => n.kind === "town");
      const town = document.getElementById("filter-town");
      for (const t of towns) town.append(h("option", { value: t.id }, t.name));
      if (towns.length <= 1) town.closest("label").hidden = true;
    } catch (_err) { /* the filters still work by typing into the address */ }
  }

  fillChoices().then(() => {
    fillFromAddress();
    list.load(true);
  });
})();
