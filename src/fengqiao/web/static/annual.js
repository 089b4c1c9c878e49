// 年度考核 and 标杆镇街 (annual.html): the year's towns and departments with the scheme, one
// town's or department's report with its formula, and the benchmark towns' standings and list.
// Every text from the server goes into the page as text (FQ.h), never as markup.
(function () {
  "use strict";

  const { api, h, fill, toast, short, formData, showErrors, clearErrors, problemText } = FQ;
  const $ = (id) => document.getElementById(id);
  const page = $("annual-page");
  if (!page) return;
  const view = page.dataset.view;
  const item = Number(page.dataset.item || 0);
  const PARTS = FQ.labels("annualParts");
  const KINDS = FQ.labels("annualKinds");
  const params = new URLSearchParams(location.search);
  const thisYear = Number(new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric" }).format(new Date()));
  const year = Number(params.get("year")) || thisYear;
  // One district at a time: the caller's own, or the one a city or province leader chose.
  const district = Number(params.get("district")) || 0;
  const dq = district ? "&district=" + district : "";

  function num(value, digits) {
    if (value == null) return "—";
    return Number(value).toFixed(digits == null ? 1 : digits).replace(/\.0+$/, "");
  }
  function pct(value) {
    return value == null ? "—" : num(value * 100, 1) + "%";
  }
  function gradeBadge(grade) {
    return grade ? h("span", { class: "grade grade-" + grade }, grade) : "—";
  }
  function rawText(part) {
    if (part.raw == null) return "—";
    return part.raw <= 1 && ["rectification", "campaigns", "meetings", "decisions"].includes(part.key) ? pct(part.raw) : num(part.raw);
  }

  // The year chooser: this year and the four before it.
  const picker = $("annual-year");
  for (let y = thisYear; y > thisYear - 5; y -= 1) {
    picker.append(h("option", { value: y, selected: y === year }, y + "年"));
  }
  picker.addEventListener("change", () => {
    params.set("year", picker.value);
    location.search = params.toString();
  });

  // The district chooser, shown when the caller may read more than one district.
  function districtPicker(answer) {
    const list = answer.districts || [];
    if (list.length < 2 || !answer.district) return;
    const select = $("annual-district");
    fill(select, ...list.map((d) => h("option", { value: d.id, selected: d.id === answer.district.id }, d.name)));
    $("annual-district-pick").hidden = false;
    select.addEventListener("change", () => {
      params.set("district", select.value);
      location.search = params.toString();
    });
  }

  // The links between 年度考核 and 标杆镇街 keep the district and year chosen.
  if (district || params.get("year")) {
    const keep = "?year=" + year + dq;
    page.querySelectorAll(".page-head a[href='/assessment/benchmarks']")
      .forEach((a) => { a.href = "/assessment/benchmarks" + keep; });
    page.querySelectorAll(".page-head a[href='/assessment/annual']")
      .forEach((a) => { a.href = "/assessment/annual" + keep; });
  }

  function note(answer) {
    $("annual-note").textContent = answer.partial
      ? year + "年度尚未结束，已计入" + (answer.counted || (answer.months + "个月")) + "的数据；方案" + (answer.scheme.stored ? answer.scheme.status_name : "为默认方案")
      : year + "年度全年数据；方案" + (answer.scheme.stored ? answer.scheme.status_name : "为默认方案");
    const box = $("annual-missing");
    const missing = answer.missing_inputs || [];
    box.hidden = !missing.length;
    box.textContent = missing.length ? "以下数据来源尚未接入，相应考核项不计分：" + missing.map((k) => PARTS[k] || k).join("、") : "";
  }

  function partCells(report, keys) {
    const byKey = Object.fromEntries(report.parts.map((p) => [p.key, p]));
    return keys.map((k) => h("td", { class: "num" }, byKey[k] ? num(byKey[k].score) : "—"));
  }

  function tableHead(table, keys, first) {
    fill(table.querySelector("thead"), h("tr", {}, h("th", {}, "排名"), h("th", {}, first), h("th", {}, "所属"),
      keys.map((k) => h("th", { class: "num" }, PARTS[k] || k)), h("th", { class: "num" }, "总分"), h("th", {}, "等级")));
  }

  // A ranking table reads from first to last; the unranked (no score yet) follow in code order.
  function byRank(reports) {
    return reports.slice().sort((a, b) => (a.rank == null ? Infinity : a.rank) - (b.rank == null ? Infinity : b.rank));
  }

  function reportRow(report, keys, kind) {
    return h("tr", { dataset: { id: report.id } },
      h("td", {}, report.rank == null ? "—" : String(report.rank)),
      h("td", {}, h("a", { href: "/assessment/annual/" + kind + "/" + report.id + "?year=" + year }, report.name)),
      h("td", { class: "muted" }, report.kind === "town" ? report.area : (KINDS[report.kind] || "") + " · " + report.area),
      partCells(report, keys),
      h("td", { class: "num" }, h("strong", {}, num(report.total))),
      h("td", {}, gradeBadge(report.grade)));
  }

  // --- 年度考核: the tables and the scheme ------------------------------------------------
  const SETS = { weights: ["events", "rounds", "rectification", "campaigns", "meetings", "decisions"],
    department_weights: ["evaluation", "events"],
    benchmark_weights: ["self_assessment", "rounds", "effect", "satisfaction"] };

  function schemeForm(scheme) {
    const form = $("scheme-form");
    $("scheme-state").textContent = (scheme.stored ? scheme.status_name : "默认方案，尚未保存")
      + (scheme.updated_by ? "，" + scheme.updated_by + " 调整于 " + short(scheme.updated_at) : "")
      + (scheme.closed_by ? "，" + scheme.closed_by + " 封存于 " + short(scheme.closed_at) : "");
    for (const [set, keys] of Object.entries(SETS)) {
      const box = $("scheme-" + set);
      box.querySelectorAll("label").forEach((n) => n.remove());
      for (const key of keys) {
        box.append(h("label", {}, PARTS[key] || key,
          h("input", { type: "number", name: set + "." + key, min: 0, max: 100, step: 1, value: scheme[set][key], disabled: !scheme.can_edit })));
      }
    }
    form.elements.benchmark_count.value = scheme.benchmark_count;
    form.elements.benchmark_count.disabled = !scheme.can_edit;
    const actions = fill($("scheme-actions"));
    if (!scheme.can_edit) return;
    actions.append(h("button", { type: "submit", class: "btn btn-primary" }, "保存方案"));
    if (scheme.stored) {
      actions.append(h("button", { type: "button", class: "btn btn-danger", onclick: async () => {
        if (!confirm("封存后本年度考核方案、部门评价和标杆名单都不能再修改，确定封存？")) return;
        try {
          await api("/assessment/annual/scheme/close", { method: "POST", json: { year: year, version: scheme.version } });
          toast("已封存" + year + "年度考核", "ok");
          loadList();
        } catch (error) { toast(problemText(error), "error"); }
      } }, "封存年度"));
    }
    form.onsubmit = async (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = { year: year, version: scheme.version, benchmark_count: Number(form.elements.benchmark_count.value) };
      for (const [set, keys] of Object.entries(SETS)) {
        body[set] = {};
        for (const key of keys) body[set][key] = Number(form.elements[set + "." + key].value || 0);
      }
      try {
        await api("/assessment/annual/scheme", { method: "PUT", json: body });
        toast("考核方案已保存", "ok");
        loadList();
      } catch (error) { showErrors(form, error); }
    };
  }

  async function loadList() {
    try {
      const answer = await api("/assessment/annual?year=" + year + dq);
      note(answer);
      districtPicker(answer);
      $("annual-export").href = "/api/v1/assessment/annual/export?year=" + year + dq;
      const townKeys = SETS.weights;
      tableHead($("town-table"), townKeys, "镇街");
      fill($("town-table").querySelector("tbody"), answer.towns.length
        ? byRank(answer.towns).map((t) => reportRow(t, townKeys, "towns"))
        : h("tr", {}, h("td", { colspan: 10, class: "muted" }, "暂无镇街")));
      const deptKeys = SETS.department_weights;
      tableHead($("department-table"), deptKeys, "部门");
      fill($("department-table").querySelector("tbody"), answer.departments.length
        ? byRank(answer.departments).map((d) => reportRow(d, deptKeys, "departments"))
        : h("tr", {}, h("td", { colspan: 7, class: "muted" }, "暂无部门")));
      schemeForm(answer.scheme);
    } catch (error) { toast(problemText(error), "error"); }
  }

  // --- one report --------------------------------------------------------------------------
  function drawReport(report) {
    $("annual-title").textContent = report.name + " · " + year + "年度考核";
    $("annual-sub").textContent = (KINDS[report.kind] || "") + (report.area ? " · " + report.area : "");
    fill($("report-head"),
      h("span", {}, "总分 ", h("span", { class: "total", id: "report-total" }, num(report.total))),
      h("span", {}, "等级 ", gradeBadge(report.grade)),
      h("span", {}, "排名 ", report.rank == null ? "—" : "第" + report.rank + "名"),
      report.evaluation_note ? h("span", { class: "muted" }, "评语：" + report.evaluation_note) : null);
    fill($("report-table").querySelector("tbody"), report.parts.map((p) => h("tr", { class: p.score == null ? "muted" : "" },
      h("td", {}, p.name), h("td", { class: "num" }, rawText(p)), h("td", {}, p.basis),
      h("td", { class: "num" }, num(p.score)), h("td", { class: "num" }, num(p.weight)),
      h("td", { class: "num" }, p.share == null ? "不计" : pct(p.share)), h("td", { class: "num" }, num(p.points)))));
    fill($("report-table").querySelector("tfoot"), h("tr", {}, h("th", { colspan: 6 }, "合计"), h("th", { class: "num" }, num(report.total))));
    $("report-formula").textContent = report.formula;
  }

  async function loadReport() {
    const base = view === "town" ? "/assessment/annual/towns/" : "/assessment/annual/departments/";
    try {
      const [report, answer] = await Promise.all([api(base + item + "?year=" + year), api("/assessment/annual/scheme?year=" + year)]);
      drawReport(report);
      $("annual-note").textContent = "方案" + (answer.stored ? answer.status_name : "为默认方案");
      const form = $("evaluation-form");
      form.hidden = !(report.can_evaluate && answer.status === "open");
      const evaluation = report.parts.find((p) => p.key === "evaluation");
      if (evaluation && evaluation.raw != null) form.elements.score.value = evaluation.raw;
      if (report.evaluation_note) form.elements.note.value = report.evaluation_note;
      form.onsubmit = async (event) => {
        event.preventDefault();
        clearErrors(form);
        const data = formData(form);
        try {
          const saved = await api("/assessment/annual/evaluations/" + item, { method: "PUT",
            json: { year: year, score: Number(data.score), note: data.note || null, version: report.evaluation_version } });
          toast("评价已保存", "ok");
          drawReport(saved);
          report.evaluation_version = saved.evaluation_version;
        } catch (error) { showErrors(form, error); }
      };
    } catch (error) {
      fill($("report-head"), h("span", { class: "muted" }, problemText(error)));
    }
  }

  // --- 标杆镇街 ----------------------------------------------------------------------------
  async function loadBenchmarks() {
    try {
      const answer = await api("/assessment/benchmarks?year=" + year + dq);
      districtPicker(answer);
      note(Object.assign({ partial: false, months: 0 }, answer));
      $("annual-note").textContent = "按方案评选" + answer.scheme.benchmark_count + "个标杆镇街；权重：" +
        SETS.benchmark_weights.map((k) => (PARTS[k] || k) + answer.scheme.benchmark_weights[k]).join("、");
      const keys = SETS.benchmark_weights;
      const listed = new Set(answer.confirmed || answer.proposed);
      const table = $("benchmark-table");
      tableHead(table, keys, "镇街");
      const ranked = answer.standings.slice().sort((a, b) => (a.rank || 999) - (b.rank || 999));
      fill(table.querySelector("tbody"), ranked.map((r) => {
        const tr = reportRow(r, keys, "towns");
        if (listed.has(r.id)) tr.classList.add("is-benchmark");
        return tr;
      }));
      const box = $("benchmark-list");
      if (answer.confirmed) {
        fill(box, h("h2", {}, year + "年度标杆镇街"),
          h("p", { class: "muted" }, answer.confirmed_by + " 确认于 " + short(answer.confirmed_at) + (answer.confirmed_note ? "：" + answer.confirmed_note : "")),
          h("ol", { id: "confirmed-list" }, answer.confirmed_names.map((n) => h("li", {}, n))));
      } else {
        const names = answer.proposed_names || [];
        fill(box, h("h2", {}, year + "年度标杆镇街"),
          h("p", { class: "muted" }, names.length ? "名单尚未确认，由区里确认；按评选排名建议：" : "名单尚未确认，由区里按评选排名确认。"),
          h("ol", { id: "proposed-list" }, names.map((n) => h("li", {}, n))));
      }
      const form = $("confirm-form");
      form.hidden = !answer.can_confirm || !answer.proposed.length;
      $("confirm-text").textContent = (answer.confirmed ? "名单已确认；如排名有变，可按前" : "按排名前")
        + answer.proposed.length + "名" + (answer.confirmed ? "重新确认" : "确认") + year + "年度标杆镇街名单";
      form.onsubmit = async (event) => {
        event.preventDefault();
        clearErrors(form);
        try {
          await api("/assessment/benchmarks/confirm", { method: "POST",
            json: { year: year, town_ids: answer.proposed, note: formData(form).note || null } });
          toast("标杆镇街名单已确认", "ok");
          loadBenchmarks();
        } catch (error) { showErrors(form, error); }
      };
    } catch (error) { toast(problemText(error), "error"); }
  }

  if (view === "list") loadList();
  else if (view === "benchmarks") loadBenchmarks();
  else loadReport();
})();
