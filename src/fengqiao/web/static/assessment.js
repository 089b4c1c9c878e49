// 考核 (rankings per level, sorted by the server, each row beside itself in the same days of the
// month before, the formula that gave it its grade, its monthly trend in ECharts). 每日通报 is
// bulletins.js.
(function () {
  "use strict";

  const { api, h, fill, query, toast, problemText } = FQ;

  // --- 考核 ----------------------------------------------------------------------------------
  const page = document.getElementById("assessment-page");
  if (page) {
    const form = document.getElementById("filters");
    const table = document.getElementById("assessment-table");
    const head = table.querySelector("thead tr");
    const body = table.querySelector("tbody");
    const trendCard = document.getElementById("trend-card");
    const params = new URLSearchParams(location.search);
    const state = { level: params.get("level") || page.dataset.defaultLevel || "town", sort: params.get("sort") || "-score" };
    const LEVEL_NAME = FQ.labels("rankLevels");
    // Columns: key, header, kind (how to show the value).
    const COLUMNS = [
      ["rank", "排名", "rank"], ["name", "名称", "text"], ["area", "所属", "text"],
      ["new", "上报数", "count"], ["handle_rate", "处置率", "rate"],
      ["closure_rate", "结案率", "rate"], ["on_time_rate", "按期结案率", "rate"],
      ["overdue", "超期数", "count"], ["rework_rate", "返工率", "rate"],
      ["return_rate", "回退率", "rate"], ["avg_handle_hours", "平均处置时长（时）", "hours"],
      ["satisfaction", "满意度", "hours"], ["valid_rate", "有效上报率", "rate"],
      ["patrol_coverage", "巡查覆盖率", "rate"], ["score", "综合得分", "hours"],
      ["grade", "等级", "grade"], ["previous", "上月同期", "previous"],
    ];
    const SORTS = { rank: "score", grade: "score" };
    const formulaCard = document.getElementById("formula-card");
    let chart = null;
    let requests = 0;
    let shown = null;  // the answer the table shows (the formula panel reads its rules)

    for (const name of ["from", "to"]) {
      if (params.get(name)) form.elements[name].value = params.get(name);
    }

    function show(value, kind) {
      if (value == null) return "—";
      if (kind === "rate") return (value * 100).toFixed(1) + "%";
      if (kind === "count") return String(Math.round(value));
      if (kind === "hours") return Number(value).toFixed(1);
      return String(value);
    }

    // A cap that lowered the grade is marked beside it (the formula panel says why).
    function lowered(row) {
      return row.caps.length > 0 && row.score_grade !== row.grade;
    }

    function gradeBadge(grade) {
      return grade ? h("span", { class: "grade grade-" + grade }, grade) : "—";
    }

    // The row in the compared period: its grade, score and the change since.
    function previousCell(row) {
      const p = row.previous;
      if (!p || p.score == null) return "—";
      const change = row.score == null ? null : Math.round((row.score - p.score) * 10) / 10;
      return [h("div", { class: "previous-score" }, gradeBadge(p.grade), " " + p.score.toFixed(1)),
        change == null ? null : h("div", { class: "change" + (change > 0 ? " change-up" : change < 0 ? " change-down" : "") },
          (change > 0 ? "↑" : change < 0 ? "↓" : "持平") + (change ? Math.abs(change).toFixed(1) : ""))];
    }

    function cell(row, key, kind) {
      if (key === "rank") return row.rank == null ? "—" : row.rank;
      if (key === "name" || key === "area") return row[key];
      if (key === "score") return show(row.score, kind);
      if (key === "grade") {
        if (!row.grade) return "—";
        return lowered(row)
          ? [gradeBadge(row.grade), h("span", { class: "cap-mark", title: row.caps.map((c) => c.reason).join("；") }, "封顶")]
          : gradeBadge(row.grade);
      }
      if (key === "previous") return previousCell(row);
      return show(row.indicators[key], kind);
    }

    function headers() {
      const current = state.sort.replace(/^-/, "");
      const descending = state.sort.startsWith("-");
      fill(head, COLUMNS.map(([key, label]) => {
        if (key === "area") return h("th", {}, label);
        if (key === "previous") return h("th", { id: "previous-head" }, label);
        const sortKey = SORTS[key] || key;
        const active = current === sortKey;
        // Rank 1 is the best score: ranks ascend as scores descend.
        const shown = descending !== (key === "rank");
        return h("th", { "aria-sort": active ? (shown ? "descending" : "ascending") : null, dataset: { key: key } },
          h("button", { type: "button", onclick: () => {
            state.sort = (active ? !descending : key !== "name") ? "-" + sortKey : sortKey;
            load();
          } }, label));
      }), h("th", {}, "说明"));
    }

    async function load() {
      const filters = FQ.formData(form);
      const p = Object.assign({ level: state.level, sort: state.sort }, filters);
      history.replaceState(null, "", "/assessment" + query(p));
      document.getElementById("export-link").href = "/api/v1/assessment/export" + query(p);
      document.querySelectorAll(".level-tabs .tab").forEach((tab) => {
        const on = tab.dataset.level === state.level;
        tab.classList.toggle("is-current", on);
        tab.setAttribute("aria-selected", on ? "true" : "false");
      });
      headers();
      FQ.clearErrors(form);
      const ticket = ++requests;
      try {
        const data = await api("/assessment" + query(p));
        if (ticket !== requests) return;  // a newer request is on its way
        shown = data;
        fill(body, data.rows.map((row) => h("tr", { dataset: { id: row.id } },
          COLUMNS.map(([key, , kind]) => h("td", { class: kind === "text" ? (key === "name" ? "name-cell" : null) : "num" }, cell(row, key, kind))),
          h("td", {}, h("div", { class: "row-actions" },
            h("button", { type: "button", class: "btn btn-small formula-button",
              onclick: (e) => formula(row, e.target.closest("tr")) }, "计分"),
            h("button", { type: "button", class: "btn btn-small trend-button",
              onclick: (e) => trend(row, e.target.closest("tr")) }, "趋势"))))));
        if (!data.rows.length) fill(body, h("tr", {}, h("td", { colspan: COLUMNS.length + 1, class: "muted" }, "此范围内没有考核对象")));
        const compared = data.partial ? "上月同期" : "上期";
        document.getElementById("previous-head").textContent = compared;
        const note = "统计 " + data.period_label + "（" + data.scope.name + "）；与" + compared +
          "比较：" + data.compare_label +
          (data.widened ? "；按整月汇总：" + data.summed_start + " 至 " + data.summed_end : "") +
          (data.patrol_data ? "" : "；本期无巡查记录，巡查覆盖率不计");
        document.getElementById("period-note").textContent = note;
        const w = data.weights;
        document.getElementById("weights-note").textContent = "综合得分权重：工作量 " + w.volume +
          "、结案率 " + w.closure + "、按期结案率 " + w.on_time + "、（1 − 返工率） " + w.rework +
          "；等级 " + floorsText(data) + "。" +
          (data.zero_patrol_cap ? "巡查覆盖率为0%的，等级不高于" + data.zero_patrol_cap + "。" : "") +
          "点「计分」查看每一行的计算过程。";
        // What the table shows now, for scripts and tests that wait for it.
        table.dataset.shown = state.level + " " + state.sort;
      } catch (error) {
        if (ticket === requests) FQ.showErrors(form, error);
      }
    }

    function floorsText(data) {
      const floors = Object.entries(data.grade_floors);
      return floors.map(([g, f]) => g + " ≥ " + f).join("，") + "，E 低于 " + floors[floors.length - 1][1];
    }

    function percent(value) {
      return value == null ? "—" : (value * 100).toFixed(1) + "%";
    }

    function highlight(tr) {
      body.querySelectorAll("tr.is-selected").forEach((r) => r.classList.remove("is-selected"));
      if (tr) tr.classList.add("is-selected");
    }

    // Why a row got its grade: each part's value, what it is made of, its weight and the points
    // it adds (they add up to the score), the grade's thresholds and any cap.
    function formula(row, tr) {
      highlight(tr);
      const data = shown;
      formulaCard.hidden = false;
      formulaCard.dataset.id = row.id;
      document.getElementById("formula-title").textContent = LEVEL_NAME[state.level] + " · " + row.name + " 计分说明";
      const table = document.getElementById("formula-table");
      fill(table.querySelector("tbody"), row.breakdown.map((part) => h("tr", { dataset: { key: part.key }, class: part.points == null ? "muted" : null },
        h("td", {}, part.name),
        h("td", { class: "num" }, percent(part.value)),
        h("td", {}, part.basis),
        h("td", { class: "num" }, String(part.weight)),
        h("td", { class: "num" }, part.share == null ? "不计" : percent(part.share)),
        h("td", { class: "num points" }, part.points == null ? "—" : part.points.toFixed(1)))));
      fill(table.querySelector("tfoot"), h("tr", {},
        h("th", { colspan: 5 }, "综合得分（各项得分之和）"),
        h("td", { class: "num total" }, row.score == null ? "—" : row.score.toFixed(1))));
      const notes = [
        "综合得分 = 100 × Σ（权重 × 数值）÷ 参与计分的权重之和；没有数据的指标不计分，其余指标的权重按比例折算。",
        row.score == null ? "本期没有可计分的数据，不评等级。"
          : "等级标准：" + floorsText(data) + "。按得分 " + row.score.toFixed(1) + " 为 " + row.score_grade + " 级。",
      ];
      for (const cap of row.caps) {
        notes.push(cap.reason + (row.score_grade !== row.grade
          ? "：由 " + row.score_grade + " 级调整为 " + row.grade + " 级。"
          : "：按得分已不高于此级，等级不变。"));
      }
      if (row.grade) notes.push("最终等级：" + row.grade + (row.rank ? "，排名第 " + row.rank : "") + "。");
      const p = row.previous;
      if (p && p.score != null) {
        notes.push((data.partial ? "上月同期 " : "上期 ") + data.compare_label + "：" + p.score.toFixed(1) + " 分，" + p.grade + " 级。");
      }
      fill(document.getElementById("formula-notes"), notes.map((text) => h("li", {}, text)));
      formulaCard.scrollIntoView({ block: "nearest" });
    }

    const trends = FQ.latest(); // the row clicked last, not a slower answer for one before

    async function trend(row, tr) {
      const current = trends();
      highlight(tr);
      const filters = FQ.formData(form);
      trendCard.hidden = false;
      const title = document.getElementById("trend-title");
      title.textContent = LEVEL_NAME[state.level] + " · " + row.name + " 近 12 个月得分趋势";
      try {
        const data = await api("/assessment/trend" + query({ level: state.level, id: row.id, to: filters.to }));
        if (!current()) return;
        // The month still running is no whole month: it stands apart from the monthly line,
        // beside the same days of the month before as they stood at the same moment.
        const running = data.points.find((p) => p.partial);
        if (running) title.textContent += "（" + running.label + "，与上月同期比较）";
        const at = (wanted) => data.points.map((p) => (p.partial ? wanted(p) : null));
        if (!chart) chart = echarts.init(document.getElementById("trend-chart"));
        chart.resize();
        chart.setOption({
          tooltip: { trigger: "axis", formatter: (items) => {
            const p = data.points[items[0].dataIndex];
            const before = p.partial && p.compared && p.compared.score != null
              ? h("div", {}, "上月同期 " + p.compared.score.toFixed(1) + "（" + p.compared.grade + "）") : null;
            return h("div", { class: "chart-tip" }, h("div", { class: "chart-tip-head" }, p.partial ? p.label : p.month),
              h("div", {}, (p.partial ? "本月至今 " : "综合得分 ") + (p.score == null ? "—" : p.score.toFixed(1)) +
                (p.grade ? "（" + p.grade + "）" : "")),
              p.rank ? h("div", {}, "排名 " + p.rank + " / " + p.peers) : null, before);
          } },
          legend: running ? { top: 0, data: ["综合得分", "本月至今", "上月同期"] } : { show: false },
          animationDuration: 300,
          grid: { left: 40, right: 20, top: running ? 30 : 20, bottom: 30 },
          xAxis: { type: "category", data: data.points.map((p) => p.month) },
          yAxis: { type: "value", min: 0, max: 100 },
          series: [{ type: "line", name: "综合得分", connectNulls: false, symbolSize: 8,
            data: data.points.map((p) => (p.partial ? null : p.score)),
            markArea: { silent: true, itemStyle: { opacity: 0.06 },
              data: [[{ yAxis: 90, itemStyle: { color: "#1b7f3b" } }, { yAxis: 100 }],
                [{ yAxis: 0, itemStyle: { color: "#b42318" } }, { yAxis: 40 }]] } },
          { type: "scatter", name: "本月至今", symbol: "emptyCircle", symbolSize: 12,
            data: at((p) => p.score) },
          { type: "scatter", name: "上月同期", symbol: "diamond", symbolSize: 10,
            data: at((p) => (p.compared ? p.compared.score : null)) }],
        }, true);
        trendCard.scrollIntoView({ block: "nearest" });
      } catch (error) {
        if (current()) toast(problemText(error), "error");
      }
    }

    document.querySelectorAll(".level-tabs .tab").forEach((tab) => tab.addEventListener("click", () => {
      state.level = tab.dataset.level;
      trendCard.hidden = true;
      formulaCard.hidden = true;
      load();
    }));
    document.getElementById("trend-close").addEventListener("click", () => { trendCard.hidden = true; });
    document.getElementById("formula-close").addEventListener("click", () => { formulaCard.hidden = true; });
    form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
    window.addEventListener("resize", () => chart && chart.resize());
    load();
  }
})();
