// A campaign's dashboard (/campaigns/{id}): per measure (done and expected against the target),
// per town (rate of its share), over time (cumulative done beside the expected line), and the
// lagging towns, all from /api/v1/campaigns/{id}/dashboard (the progress rollup). Every text
// in a chart's tooltip goes through FQ.h (DOM nodes) and every axis label through FQ.esc.
(function () {
  "use strict";

  const { api, h, fill, toast, problemText, esc } = FQ;
  const $ = (id) => document.getElementById(id);
  const page = $("campaign-page");
  if (!page) return;
  const id = page.dataset.id;
  const STATUS = FQ.labels("campaignStatus");
  const UNITS = FQ.labels("measureUnits");
  const charts = {};
  let data = null;

  function amount(value) {
    return Number.isInteger(value) ? String(value) : value.toFixed(1);
  }

  function percent(value) {
    return (Math.round(value * 1000) / 10).toFixed(1) + "%";
  }

  function day(iso) {
    return String(iso || "").replace(/^(\d{4})-(\d{2})-(\d{2}).*$/, "$1年$2月$3日");
  }

  function chart(name) {
    if (!charts[name]) charts[name] = echarts.init($("chart-" + name));
    return charts[name];
  }

  function tip(head, lines) {
    return h("div", { class: "chart-tip" }, h("div", { class: "chart-tip-head" }, head),
      lines.map((line) => h("div", {}, line)));
  }

  function unit(m) {
    return UNITS[m.unit] || "";
  }

  function cards(campaign) {
    fill($("measure-cards"), campaign.measures.map((m) => h("div", {
      class: "card measure-card" + (m.done < m.expected_by_now ? " is-behind" : ""),
    }, h("div", { class: "muted" }, m.name),
      h("div", { class: "figure" }, amount(m.done) + "／" + amount(m.target) + unit(m)),
      h("div", { class: "muted" }, "完成 " + percent(m.target ? m.done / m.target : 0) +
        "，按进度应完成 " + amount(Math.round(m.expected_by_now * 10) / 10)))));
  }

  function measuresChart(campaign) {
    const ms = campaign.measures;
    chart("measures").setOption({
      tooltip: { trigger: "axis", formatter: (items) => {
        const m = ms[items[0].dataIndex];
        return tip(m.name, ["目标 " + amount(m.target) + unit(m), "完成 " + amount(m.done) + unit(m),
          "按进度应完成 " + amount(Math.round(m.expected_by_now * 10) / 10) + unit(m)]);
      } },
      legend: { data: ["完成率", "按进度应完成"], top: 0 },
      grid: { left: 110, right: 30, top: 30, bottom: 30 },
      xAxis: { type: "value", max: (v) => Math.max(100, Math.ceil(v.max / 10) * 10),
        axisLabel: { formatter: (v) => esc(v + "%") } },
      yAxis: { type: "category", inverse: true, data: ms.map((m) => m.name),
        axisLabel: { formatter: (v) => esc(v) } },
      series: [
        { name: "完成率", type: "bar", data: ms.map((m) => (m.target ? Math.round(1000 * m.done / m.target) / 10 : 0)) },
        { name: "按进度应完成", type: "scatter", symbol: "diamond", symbolSize: 12,
          data: ms.map((m) => (m.target ? Math.round(1000 * m.expected_by_now / m.target) / 10 : 0)) },
      ],
    }, true);
  }

  function townsChart() {
    const towns = [];
    const byTown = {};
    for (const row of data.towns) {
      if (!byTown[row.town_id]) { byTown[row.town_id] = { name: row.town_name, target: 0, done: 0, expected: 0, parts: [] }; towns.push(row.town_id); }
      const t = byTown[row.town_id];
      t.parts.push(row.target ? Math.min(1, row.done / row.target) : 0);
      t.expected = row.target ? row.expected_by_now / row.target : 0;
    }
    const rate = (t) => Math.round(1000 * t.parts.reduce((a, b) => a + b, 0) / Math.max(1, t.parts.length)) / 10;
    chart("towns").setOption({
      tooltip: { trigger: "axis", formatter: (items) => {
        const t = byTown[towns[items[0].dataIndex]];
        return tip(t.name, ["各项措施平均完成率 " + rate(t).toFixed(1) + "%", "按进度应完成 " + percent(t.expected)]);
      } },
      grid: { left: 90, right: 30, top: 20, bottom: 30 },
      xAxis: { type: "value", max: 100, axisLabel: { formatter: (v) => esc(v + "%") } },
      yAxis: { type: "category", inverse: true, data: towns.map((t) => byTown[t].name),
        axisLabel: { formatter: (v) => esc(v) } },
      series: [{ name: "完成率", type: "bar", data: towns.map((t) => rate(byTown[t])),
        markLine: { silent: true, symbol: "none", label: { formatter: () => esc("按进度") },
          data: [{ xAxis: Math.round(1000 * (towns.length ? byTown[towns[0]].expected : 0)) / 10 }] } }],
    }, true);
  }

  function trendChart() {
    const index = Number($("trend-measure").value || 0);
    const m = data.measures[index];
    if (!m) return;
    chart("trend").setOption({
      tooltip: { trigger: "axis", formatter: (items) => {
        const p = m.days[items[0].dataIndex];
        return tip(day(p.day), ["累计完成 " + amount(p.done) + (UNITS[m.unit] || ""),
          "按进度应完成 " + amount(Math.round(p.expected * 10) / 10) + (UNITS[m.unit] || "")]);
      } },
      legend: { data: ["累计完成", "按进度应完成"], top: 0 },
      grid: { left: 60, right: 30, top: 30, bottom: 30 },
      xAxis: { type: "category", data: m.days.map((p) => p.day.slice(5)), axisLabel: { formatter: (v) => esc(v) } },
      yAxis: { type: "value", max: (v) => Math.max(m.target, v.max) },
      series: [
        { name: "累计完成", type: "line", showSymbol: false, areaStyle: { opacity: 0.15 }, data: m.days.map((p) => p.done),
          markLine: { silent: true, symbol: "none", label: { formatter: () => esc("目标 " + amount(m.target)) },
            data: [{ yAxis: m.target }] } },
        { name: "按进度应完成", type: "line", showSymbol: false, lineStyle: { type: "dashed" }, data: m.days.map((p) => Math.round(p.expected * 10) / 10) },
      ],
    }, true);
  }

  function lagging(campaign) {
    const measures = {};
    for (const m of campaign.measures) measures[m.id] = m;
    const rows = data.lagging.map((r) => {
      const m = measures[r.measure_id];
      return h("tr", {}, h("td", {}, r.town_name), h("td", {}, m.name),
        h("td", {}, amount(Math.round(r.target * 10) / 10) + unit(m)), h("td", {}, amount(r.done) + unit(m)),
        h("td", {}, amount(Math.round(r.expected_by_now * 10) / 10) + unit(m)),
        h("td", {}, percent(r.target ? r.done / r.target : 0)));
    });
    fill(document.querySelector("#lagging-table tbody"), rows);
    $("lagging-empty").hidden = rows.length > 0;
  }

  async function load() {
    data = await api("/campaigns/" + id + "/dashboard");
    const c = data.campaign;
    $("campaign-name").textContent = c.name;
    const status = $("campaign-status");
    status.textContent = STATUS[c.status] || "";
    status.classList.toggle("is-ended", c.status === "ended");
    $("campaign-meta").textContent = day(c.start_date) + "至" + day(c.end_date) + "　范围：" +
      (c.towns.length > 1 ? c.org_name + "（" + c.towns.length + "个镇街）" : (c.towns[0] || {}).name || c.org_name) +
      "　涉及分类：" + c.class_names.join("、") + "　统计截至" + day(data.as_of);
    const endButton = $("campaign-end");
    if (endButton) endButton.hidden = !c.can_end;
    fill($("trend-measure"), data.measures.map((m, i) => h("option", { value: String(i) }, m.name + "（" + unit(m) + "）")));
    cards(c);
    measuresChart(c);
    townsChart();
    trendChart();
    lagging(c);
  }

  $("trend-measure").addEventListener("change", trendChart);
  const endButton = $("campaign-end");
  if (endButton) {
    endButton.addEventListener("click", async () => {
      if (!window.confirm("结束后不再归集新的事件，确定结束吗？")) return;
      try {
        await api("/campaigns/" + id + "/end", { method: "POST", json: { version: data.campaign.version } });
        toast("已结束", "ok");
        await load();
      } catch (error) {
        toast(problemText(error), "error");
      }
    });
  }
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  load().catch((error) => toast(problemText(error), "error"));
})();
