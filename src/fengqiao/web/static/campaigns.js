// 专项整治 (/campaigns): the campaigns of the caller's area with their progress, and the form
// that defines one with its measures. Every user text goes into the page as text (FQ.h).
(function () {
  "use strict";

  const { api, h, fill, toast, formData, showErrors, clearErrors, query } = FQ;
  const $ = (id) => document.getElementById(id);
  const page = $("campaigns-page");
  if (!page) return;
  const canWrite = page.dataset.write === "1";
  const STATUS = FQ.labels("campaignStatus");
  const UNITS = FQ.labels("measureUnits");

  function day(iso) {
    return String(iso || "").replace(/^(\d{4})-(\d{2})-(\d{2}).*$/, "$1年$2月$3日");
  }

  function percent(value) {
    return (Math.round(value * 1000) / 10).toFixed(1) + "%";
  }

  function bar(value) {
    const inner = h("span");
    inner.style.width = Math.min(100, Math.round(value * 100)) + "%";
    return h("span", { class: "progress-bar" }, inner);
  }

  function amount(value) {
    return Number.isInteger(value) ? String(value) : value.toFixed(1);
  }

  // Only the status chosen last is shown: a slower answer for one chosen before is dropped.
  const loads = FQ.latest();

  async function load() {
    const current = loads();
    const status = $("campaign-status").value;
    const data = await api("/campaigns" + query({ status: status, size: 100 }));
    if (!current()) return;
    const rows = data.items.map((c) => h("tr", {},
      h("td", {}, h("a", { href: "/campaigns/" + c.id }, c.name)),
      h("td", {}, c.towns.length > 1 ? c.org_name + "（" + c.towns.length + "个镇街）" : (c.towns[0] || {}).name || c.org_name),
      h("td", {}, day(c.start_date) + "至" + day(c.end_date)),
      h("td", {}, h("span", { class: "campaign-status" + (c.status === "ended" ? " is-ended" : "") }, STATUS[c.status] || "")),
      h("td", {}, bar(c.progress), percent(c.progress)),
      h("td", { class: "campaign-measures" }, c.measures.map((m) => m.name + " " + amount(m.done) + "／" + amount(m.target) + (UNITS[m.unit] || "")).join("；"))));
    fill(document.querySelector("#campaign-table tbody"), rows);
    $("campaign-empty").hidden = rows.length > 0;
  }

  let classes = [];

  function measureRow() {
    const remove = h("button", { type: "button", class: "btn btn-ghost btn-small" }, "删除");
    const row = h("tr", {},
      h("td", {}, h("input", { type: "text", class: "m-name", maxlength: "40", "aria-label": "措施名称" })),
      h("td", {}, h("select", { class: "m-class", "aria-label": "事件分类" },
        classes.map((c) => h("option", { value: c.code }, c.name_zh)))),
      h("td", {}, h("select", { class: "m-unit", "aria-label": "单位" },
        Object.entries(UNITS).map(([unit, word]) => h("option", { value: unit }, word)))),
      h("td", {}, h("input", { type: "number", class: "m-target", min: "1", step: "1", "aria-label": "目标" })),
      h("td", {}, remove));
    remove.addEventListener("click", () => row.remove());
    document.querySelector("#measure-table tbody").append(row);
    return row;
  }

  async function setUpForm() {
    const form = $("campaign-form");
    const tree = await api("/org/tree?depth=1");
    const areas = [h("option", { value: tree.id }, tree.name)];
    // The caller's area (all its towns) or one level down: a province's cities, a city's
    // districts, a district's towns; a town's caller has only their own.
    if (["province", "city", "district"].includes(tree.kind)) {
      for (const town of tree.children || []) areas.push(h("option", { value: town.id }, town.name));
    }
    fill($("campaign-area"), areas);
    classes = (await api("/categories")).categories;
    measureRow();
    $("measure-add").addEventListener("click", () => measureRow());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = formData(form);
      body.measures = Array.from(document.querySelectorAll("#measure-table tbody tr")).map((tr) => ({
        name: tr.querySelector(".m-name").value.trim(),
        classes: [tr.querySelector(".m-class").value],
        unit: tr.querySelector(".m-unit").value,
        target: parseFloat(tr.querySelector(".m-target").value) || 0,
      }));
      body.classes = Array.from(new Set(body.measures.flatMap((m) => m.classes)));
      try {
        const made = await api("/campaigns", { method: "POST", json: body });
        toast("已创建“" + made.name + "”", "ok");
        form.reset();
        fill(document.querySelector("#measure-table tbody"));
        measureRow();
        $("campaign-new").open = false;
        await load();
      } catch (error) {
        showErrors(form, error);
      }
    });
  }

  $("campaign-status").addEventListener("change", () => load().catch((e) => toast(FQ.problemText(e), "error")));
  load().catch((e) => toast(FQ.problemText(e), "error"));
  if (canWrite) setUpForm().catch((e) => toast(FQ.problemText(e), "error"));
})();
