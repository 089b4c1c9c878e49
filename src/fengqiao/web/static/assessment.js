// 考核 (rankings per level, sorted by the server, each row's monthly trend in ECharts) and
// 每日通报 (the days with their exports, and the reader's subscription).
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
    const state = { level: params.get("level") || "town", sort: params.get("sort") || "-score" };
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
      ["grade", "等级", "grade"],
    ];
    const SORTS = { rank: "score", grade: "score" };
    let chart = null;
    let requests = 0;

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

    function cell(row, key, kind) {
      if (key === "rank") return row.rank == null ? "—" : row.rank;
      if (key === "name" || key === "area") return row[key];
      if (key === "score") return show(row.score, kind);
      if (key === "grade") return row.grade ? h("span", { class: "grade grade-" + row.grade }, row.grade) : "—";
      return show(row.indicators[key], kind);
    }

    function headers() {
      const current = state.sort.replace(/^-/, "");
      const descending = state.sort.startsWith("-");
      fill(head, COLUMNS.map(([key, label]) => {
        if (key === "area") return h("th", {}, label);
        const sortKey = SORTS[key] || key;
        const active = current === sortKey;
        // Rank 1 is the best score: ranks ascend as scores descend.
        const shown = descending !== (key === "rank");
        return h("th", { "aria-sort": active ? (shown ? "descending" : "ascending") : null, dataset: { key: key } },
          h("button", { type: "button", onclick: () => {
            state.sort = (active ? !descending : key !== "name") ? "-" + sortKey : sortKey;
            load();
          } }, label));
      }), h("th", {}, "趋势"));
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
        fill(body, data.rows.map((row) => h("tr", { dataset: { id: row.id } },
          COLUMNS.map(([key, , kind]) => h("td", { class: kind === "text" ? null : "num" }, cell(row, key, kind))),
          h("td", {}, h("button", { type: "button", class: "btn btn-small trend-button",
            onclick: (e) => trend(row, e.target.closest("tr")) }, "趋势")))));
        if (!data.rows.length) fill(body, h("tr", {}, h("td", { colspan: COLUMNS.length + 1, class: "muted" }, "此范围内没有考核对象")));
        const note = "统计 " + data.start + " 至 " + data.end + "（" + data.scope.name + "）" +
          (data.widened ? "；按整月汇总：" + data.summed_start + " 至 " + data.summed_end : "") +
          (data.patrol_data ? "" : "；本期无巡查记录，巡查覆盖率不计");
        document.getElementById("period-note").textContent = note;
        const w = data.weights;
        document.getElementById("weights-note").textContent = "综合得分权重：工作量 " + w.volume +
          "、结案率 " + w.closure + "、按期结案率 " + w.on_time + "、（1 − 返工率） " + w.rework +
          "；等级 A ≥ 90，B ≥ 75，C ≥ 60，D ≥ 40，E 低于 40。";
        // What the table shows now, for scripts and tests that wait for it.
        table.dataset.shown = state.level + " " + state.sort;
      } catch (error) {
        FQ.showErrors(form, error);
      }
    }

    async function trend(row, tr) {
      body.querySelectorAll("tr.is-selected").forEach((r) => r.classList.remove("is-selected"));
      if (tr) tr.classList.add("is-selected");
      const filters = FQ.formData(form);
      trendCard.hidden = false;
      document.getElementById("trend-title").textContent = LEVEL_NAME[state.level] + " · " + row.name + " 近 12 个月得分趋势";
      try {
        const data = await api("/assessment/trend" + query({ level: state.level, id: row.id, to: filters.to }));
        if (!chart) chart = echarts.init(document.getElementById("trend-chart"));
        chart.resize();
        chart.setOption({
          tooltip: { trigger: "axis", formatter: (items) => {
            const p = data.points[items[0].dataIndex];
            return h("div", { class: "chart-tip" }, h("div", { class: "chart-tip-head" }, p.month),
              h("div", {}, "综合得分 " + (p.score == null ? "—" : p.score.toFixed(1)) +
                (p.grade ? "（" + p.grade + "）" : "")),
              p.rank ? h("div", {}, "排名 " + p.rank + " / " + p.peers) : null);
          } },
          animationDuration: 300,
          grid: { left: 40, right: 20, top: 20, bottom: 30 },
          xAxis: { type: "category", data: data.points.map((p) => p.month) },
          yAxis: { type: "value", min: 0, max: 100 },
          series: [{ type: "line", name: "综合得分", connectNulls: false, symbolSize: 8,
            data: data.points.map((p) => p.score),
            markArea: { silent: true, itemStyle: { opacity: 0.06 },
              data: [[{ yAxis: 90, itemStyle: { color: "#1b7f3b" } }, { yAxis: 100 }],
                [{ yAxis: 0, itemStyle: { color: "#b42318" } }, { yAxis: 40 }]] } }],
        }, true);
        trendCard.scrollIntoView({ block: "nearest" });
      } catch (error) {
        toast(problemText(error), "error");
      }
    }

    document.querySelectorAll(".level-tabs .tab").forEach((tab) => tab.addEventListener("click", () => {
      state.level = tab.dataset.level;
      trendCard.hidden = true;
      load();
    }));
    document.getElementById("trend-close").addEventListener("click", () => { trendCard.hidden = true; });
    form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
    window.addEventListener("resize", () => chart && chart.resize());
    load();
  }

  // --- 每日通报 ------------------------------------------------------------------------------
  const bulletinsPage = document.getElementById("bulletins-page");
  if (bulletinsPage) {
    const form = document.getElementById("subscription");
    const stateText = document.getElementById("subscription-state");
    const off = document.getElementById("unsubscribe");
    const CHANNEL_NAME = FQ.labels("channels");

    function showSubscription(s) {
      stateText.textContent = s.subscribed
        ? "已订阅（" + s.channels.map((c) => CHANNEL_NAME[c] || c).join("、") + "）"
        : "未订阅：订阅后每天早上收到前一日通报";
      off.hidden = !s.subscribed;
      document.getElementById("subscribe").textContent = s.subscribed ? "更新订阅" : "订阅每日通报";
      form.querySelectorAll("input[name=channels]").forEach((box) => {
        box.checked = s.subscribed ? s.channels.includes(box.value) : box.value === "app";
      });
    }

    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const channels = [...form.querySelectorAll("input[name=channels]:checked")].map((b) => b.value);
      try {
        showSubscription(await api("/bulletins/subscription", { method: "PUT", json: { channels } }));
        toast("已订阅每日通报", "ok");
      } catch (error) {
        FQ.showErrors(form, error);
      }
    });
    off.addEventListener("click", async () => {
      try {
        await api("/bulletins/subscription", { method: "DELETE" });
        showSubscription({ subscribed: false, channels: [] });
        toast("已取消订阅", "ok");
      } catch (error) {
        toast(problemText(error), "error");
      }
    });

    (async () => {
      try {
        showSubscription(await api("/bulletins/subscription"));
        const days = await api("/bulletins?days=30");
        fill(document.querySelector("#bulletin-table tbody"), days.map((d) => h("tr", { dataset: { day: d.day } },
          h("td", {}, d.day),
          h("td", {}, d.generated_at ? "已生成 " + FQ.short(d.generated_at) : "未生成（打开时生成）"),
          h("td", { class: "num" }, d.generated_at ? d.recipients + " 条" : "—"),
          h("td", {}, h("a", { href: d.links.html, target: "_blank", rel: "noopener" }, "查看")),
          h("td", {}, h("a", { href: d.links.pdf, download: "bulletin-" + d.day + ".pdf", class: "pdf-link" }, "PDF")),
          h("td", {}, h("a", { href: d.links.xlsx, download: "bulletin-" + d.day + ".xlsx" }, "Excel")))));
      } catch (error) {
        toast(problemText(error), "error");
      }
    })();
  }
})();
