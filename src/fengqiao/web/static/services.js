// 办事指南: the public service catalogue (最多跑一次), searched in Chinese, each item's guide
// (where to go, what to bring, how long, the fee, the unit) in the side card. No login needed.
(function () {
  "use strict";

  const { api, h } = FQ;
  const form = document.getElementById("service-search");
  const target = document.querySelector("#service-table tbody");
  const detail = document.getElementById("service-detail");
  // On a phone the rows are cards and a tapped item's guide opens over the list, where the finger is.
  const sheet = FQPhone.sheet(document.getElementById("service-sheet"));
  FQPhone.cards(document.getElementById("service-table"));

  function levelTags(item) {
    return h("span", { class: "levels" }, item.level_names.map((name) => h("span", { class: "tag" }, name)));
  }

  function show(item) {
    for (const tr of target.querySelectorAll("tr")) tr.classList.toggle("is-selected", tr.dataset.id === String(item.id));
    FQ.fill(detail, h("div", { class: "service-detail", id: "service-guide", dataset: { code: item.code } },
      h("h2", {}, item.name),
      h("p", { class: "muted" }, item.code + " · " + item.category + (item.proxy_allowed ? " · 可代办" : " · 须本人办理")),
      h("h3", {}, "办理地点"), levelTags(item),
      h("h3", {}, "申请材料"),
      item.materials.length ? h("ol", { id: "guide-materials" }, item.materials.map((m) => h("li", {}, m))) : h("p", {}, "无需材料"),
      h("dl", { class: "facts" },
        h("dt", {}, "办理时限"), h("dd", { id: "guide-limit" }, item.time_limit_text),
        h("dt", {}, "收费标准"), h("dd", {}, item.fee),
        h("dt", {}, "办理单位"), h("dd", {}, item.unit_name)),
      item.description ? [h("h3", {}, "办理说明"), h("p", { class: "description" }, item.description)] : null,
      item.tags.length ? h("p", {}, item.tags.map((t) => h("span", { class: "tag" }, t))) : null,
      item.proxy_allowed ? h("p", {}, h("a", { class: "btn btn-primary", href: "/proxy?item=" + item.id }, "申请网格员代办")) : null));
  }

  function row(item) {
    return h("tr", { dataset: { id: item.id }, onclick: () => { show(item); sheet.open(); } },
      h("td", {}, h("strong", {}, item.name), item.proxy_allowed ? [" ", h("span", { class: "tag" }, "可代办")] : null),
      h("td", {}, item.category),
      h("td", {}, levelTags(item)),
      h("td", {}, item.time_limit_text),
      h("td", {}, item.fee),
      h("td", {}, item.unit_name));
  }

  const list = FQ.list({
    path: "/api/v1/public/services", paging: "page", row: row, form: form, target: target,
    more: document.getElementById("load-more"), noun: "项", empty: "没有找到相关事项，请换个关键词试试",
    onLoad: (data, params, reset) => {
      if (reset && data.items.length && params.q) show(data.items[0]);
      // Nothing found: the guide of an item from the previous search must not stay on screen.
      else if (reset && !data.items.length) FQ.fill(detail, h("p", { class: "muted" }, "点击列表中的事项，查看办事指南。"));
    },
  });

  async function categories() {
    try {
      const names = await api("/api/v1/public/services/categories");
      document.getElementById("category-select").append(...names.map((n) => h("option", { value: n }, n)));
    } catch (_error) { /* the list still works without the category filter */ }
  }

  const initial = new URLSearchParams(location.search).get("q");
  if (initial) form.elements.q.value = initial;
  categories();
  list.load(true);
})();
