// 督查整改 (/inspections): per town the year's rounds, mean score, rectifications and on-time
// rate and self-assessment; towns missing this month's round; rectifications by light; the
// rounds; the groups. Every user text goes into the page as text (FQ.h), never as markup.
(function () {
  "use strict";

  const { api, h, fill, toast, short, problemText, lightBadge, query } = FQ;
  const $ = (id) => document.getElementById(id);
  const page = $("inspections-page");
  if (!page) return;
  const TASK_STATUS = FQ.labels("taskStatus");

  function rate(value) {
    return value == null ? "—" : (value * 100).toFixed(1) + "%";
  }
  function score(value) {
    return value == null ? "—" : Number(value).toFixed(1);
  }
  function month(text) {
    return String(text || "").replace(/^(\d{4})-(\d{2})$/, "$1年$2月");
  }
  function filters() {
    const year = $("summary-year").value;
    const town = $("town-filter").value;
    return { year: year, town_id: town };
  }

  const thisYear = Number(new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric" }).format(new Date()));
  fill($("summary-year"), [0, 1, 2].map((n) => h("option", { value: thisYear - n }, (thisYear - n) + "年")));

  // Only the year asked last is shown: a slower answer for one asked before is dropped.
  const summaries = FQ.latest();

  async function loadSummary() {
    const current = summaries();
    const towns = await api("/inspections/summary" + query({ year: filters().year }));
    if (!current()) return;
    const chosen = $("town-filter").value;
    if ($("town-filter").options.length <= 1) {
      $("town-filter").append(...towns.map((t) => h("option", { value: t.town.id }, t.town.name)));
    }
    const shown = chosen ? towns.filter((t) => String(t.town.id) === chosen) : towns;
    fill(document.querySelector("#summary-table tbody"), shown.length ? shown.map((t) => h("tr", { dataset: { town: t.town.id } },
      h("td", {}, t.town.name), h("td", {}, t.group ? t.group.name : "未分配"),
      h("td", {}, String(t.rounds)), h("td", {}, score(t.round_score)),
      h("td", {}, String(t.rectifications)), h("td", {}, String(t.rectifications_open)),
      h("td", {}, rate(t.rectification_rate)), h("td", {}, score(t.self_assessment))))
      : h("tr", {}, h("td", { colspan: 8, class: "muted" }, "暂无镇街")));
  }

  async function loadMissing() {
    const data = await api("/inspections/missing");
    const card = $("missing-card");
    card.hidden = !data.towns.length;
    $("missing-title").textContent = month(data.month) + "尚未督查：";
    $("missing-towns").textContent = data.towns.map((t) => t.name + "（" + t.group.name + "）").join("、");
  }

  const rectifications = FQ.list({
    path: "/rectifications", target: document.querySelector("#rect-table tbody"), more: $("rect-more"),
    status: $("rect-shown"), size: 20, empty: "暂无整改事项",
    params: () => ({ town_id: filters().town_id, light: $("rect-light").value }),
    row: (r) => h("tr", { dataset: { code: r.code, light: r.light } },
      h("td", {}, h("a", { href: "/tasks/" + encodeURIComponent(r.code) }, r.code)),
      h("td", {}, r.town ? r.town.name : ""),
      h("td", {}, r.title, " ", h("a", { href: "/inspections/rounds/" + r.round_id, class: "muted" }, "督查记录")),
      h("td", {}, short(r.due_at)),
      h("td", {}, TASK_STATUS[r.status] || "", r.done_at ? "（" + short(r.done_at) + "）" : ""),
      h("td", {}, lightBadge(r.light))),
  });

  const rounds = FQ.list({
    path: "/inspections", target: document.querySelector("#round-table tbody"), more: $("round-more"),
    status: $("round-shown"), size: 20, empty: "暂无督查记录",
    params: () => filters(),
    row: (r) => h("tr", { dataset: { id: r.id } },
      h("td", {}, month(r.month)), h("td", {}, r.town.name), h("td", {}, r.group.name),
      h("td", {}, r.held_on), h("td", {}, score(r.score)), h("td", {}, String(r.failed)),
      h("td", {}, String(r.rectifications_open)),
      h("td", {}, h("a", { class: "btn btn-small btn-secondary", href: "/inspections/rounds/" + r.id }, "详情"))),
  });

  async function loadGroups() {
    const groups = await api("/inspections/groups");
    fill(document.querySelector("#group-table tbody"), groups.length ? groups.map((g) => h("tr", { dataset: { id: g.id } },
      h("td", {}, g.name), h("td", {}, g.members.map((m) => m.name).join("、") || "—"),
      h("td", {}, g.towns.map((t) => t.name).join("、") || "—")))
      : h("tr", {}, h("td", { colspan: 3, class: "muted" }, "暂无督查组")));
  }

  function loadAll() {
    loadSummary().catch((error) => toast(problemText(error), "error"));
    rectifications.load(true);
    rounds.load(true);
  }

  $("summary-filters").addEventListener("submit", (e) => { e.preventDefault(); loadAll(); });
  $("rect-light").addEventListener("change", () => rectifications.load(true));
  loadAll();
  loadMissing().catch(() => {});
  loadGroups().catch((error) => toast(problemText(error), "error"));
})();
