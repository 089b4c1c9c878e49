// One supervision round (/inspections/rounds/{id}): each item's result and its rectification
// (a tracked task) with its light, and the round's trail. Every user text goes into the page as
// text (FQ.h), never as markup.
(function () {
  "use strict";

  const { api, h, fill, short, problemText, lightBadge } = FQ;
  const $ = (id) => document.getElementById(id);
  const page = $("round-page");
  if (!page) return;

  function month(text) {
    return String(text || "").replace(/^(\d{4})-(\d{2})$/, "$1年$2月");
  }

  async function load() {
    const r = await api("/inspections/" + page.dataset.id);
    $("round-title").textContent = r.town.name + month(r.month) + "督查";
    fill($("round-head"),
      h("p", {}, h("strong", { class: "round-score" }, Number(r.score).toFixed(1) + " 分"),
        "　" + r.group.name + " · 督查日期 " + r.held_on + " · 评分人 " + (r.created_by ? r.created_by.name : "—")
        + " · 依据第 " + r.standard_version.number + " 版标准"),
      h("p", { class: "muted" }, "未达标条目 " + r.failed + " 个，未完成整改 " + r.rectifications_open + " 个"),
      r.note ? h("p", { class: "round-note" }, r.note) : null);
    fill(document.querySelector("#round-items tbody"), r.items.map((i) => h("tr", { dataset: { item: i.item_id, result: i.result } },
      h("td", {}, i.aspect_name), h("td", {}, i.text, i.note ? h("div", { class: "muted" }, i.note) : null),
      h("td", {}, String(i.weight)),
      h("td", {}, h("span", { class: "sheet-badge is-" + i.result }, i.result_name)),
      h("td", {}, String(i.score)),
      h("td", { class: "rect-cell" }, i.rectification ? [
        h("a", { href: "/tasks/" + encodeURIComponent(i.rectification.code) }, i.rectification.code), " ",
        lightBadge(i.rectification.light),
        h("div", { class: "muted" }, "期限 " + short(i.rectification.due_at)),
      ] : "—"))));
    fill($("round-trail"), r.trail.map((t) => h("li", {},
      h("span", { class: "muted" }, short(t.at)), " ", t.actor ? t.actor.name : "系统", " ", t.action_name,
      t.note ? "：" + t.note : "")));
  }

  load().catch((error) => fill($("round-head"), h("p", { class: "muted" }, problemText(error))));
})();
