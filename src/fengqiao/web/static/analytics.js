// 分析研判: the 18 charts of /api/v1/analytics for an area and a range, drawn with ECharts; the
// grid choropleth on a Leaflet map of the caller's grids. The address keeps scope/from/to. A
// chart's headline (a count or a rate, with 同比/环比 or 无可比数据) comes from the API; an
// exported picture carries the chart's title, area and range drawn into it.
(function () {
  "use strict";
  const { api, h, esc, number, problemText, showErrors, clearErrors, chartTip } = window.FQ;
  const root = document.getElementById("analytics");
  const form = document.getElementById("analytics-form");
  const grid = document.getElementById("chart-grid");
  const scopeSelect = document.getElementById("scope-select");
  const PALETTE = ["#2f6fde", "#19a974", "#f2a93b", "#e0533d", "#8e6bd8", "#2bb3c0", "#b5a642",
    "#d667a8", "#5d7a99", "#7fb800"];
  const WIDE = new Set(["daily_new_closed", "hour_weekday", "grid_map", "class_changes",
    "worker_activity"]);
  const cards = new Map();
  let gridLayer = null;
  let gridMap = null;
  let gridGeojson = null;
  const areaGeojson = {}; // kind → promise of the caller's outlines of that kind (/map/areas)

  function iso(d) {
    return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" +
      String(d.getDate()).padStart(2, "0");
  }

  function preset(kind) {
    const today = new Date(root.dataset.today + "T00:00:00");
    let from = new Date(today);
    if (kind === "30") from.setDate(today.getDate() - 29);
    if (kind === "month") from = new Date(today.getFullYear(), today.getMonth(), 1);
    if (kind === "year") from = new Date(today.getFullYear(), 0, 1);
    if (kind === "12m") from = new Date(today.getFullYear(), today.getMonth() - 11, 1);
    form.elements.from.value = iso(from);
    form.elements.to.value = iso(today);
  }

  // The area picker, one level down from the caller's home as the charts rank: a province's
  // cities and districts, a city's districts, a district's towns, a town's villages. Above the
  // district the towns of the district chosen are added below it (a province holds too many
  // towns to list at once). The API lists only the caller's own area.
  const LEVEL_NAMES = FQ.labels("orgLevels");
  const LEVEL_GROUPS = ["city", "district", "town", "village"].map((kind) => [kind, LEVEL_NAMES[kind]]);
  const ABOVE_DISTRICT = new Set(["province", "city"]);
  const PAGE = 500;

  async function unitsOf(kind, within) {
    const items = [];
    for (let number = 1; ; number += 1) {
      const address = "/org/units" + FQ.query({ kind, within, size: PAGE, page: number });
      const page = await api(address).catch(() => null);
      if (!page) break;
      items.push(...page.items.filter((u) => String(u.id) !== root.dataset.home));
      if (number * PAGE >= page.total) break;
    }
    return items;
  }

  function optionGroup(label, items, extra) {
    const group = h("optgroup", Object.assign({ label }, extra || {}));
    for (const unit of items) {
      group.append(h("option", { value: unit.id, "data-code": unit.code, "data-kind": unit.kind }, unit.name));
    }
    return group;
  }

  async function loadScopes(selected) {
    scopeSelect.replaceChildren(h("option", { value: root.dataset.home, "data-kind": root.dataset.homeKind },
      root.dataset.homeName + "（本辖区）"));
    const above = ABOVE_DISTRICT.has(root.dataset.homeKind);
    let listed = false;
    for (const [kind, label] of LEVEL_GROUPS) {
      const items = await unitsOf(kind);
      if (!items.length) {
        if (listed) break;
        continue;
      }
      scopeSelect.append(optionGroup(label, items));
      listed = true;
      // A province lists its cities and districts; a city its districts; below, one level.
      if (!above || kind === "district") break;
    }
    if (selected) {
      scopeSelect.value = selected;
      if (scopeSelect.value !== selected && above) await placeTown(selected);
    }
    await townsOfChosen();
  }

  // A town asked for in the address (?scope=) that is not listed yet: its district's towns.
  async function placeTown(id) {
    const found = (await unitsOf("town")).find((u) => String(u.id) === String(id));
    if (!found) return;
    const district = Array.from(scopeSelect.querySelectorAll("option[data-kind='district']"))
      .find((o) => found.code.startsWith(o.dataset.code));
    if (!district) return;
    scopeSelect.value = district.value;
    await townsOfChosen();
    scopeSelect.value = String(id);
  }

  // Above the district: the chosen district's towns, in a group of their own after the rest (only
  // the district chosen last: a slower answer for one chosen before is dropped).
  const townLists = FQ.latest();
  async function townsOfChosen() {
    if (!ABOVE_DISTRICT.has(root.dataset.homeKind)) return;
    const stillChosen = townLists();
    const chosen = scopeSelect.options[scopeSelect.selectedIndex];
    if (!chosen || chosen.dataset.kind === "town") return;
    const current = scopeSelect.querySelector("optgroup[data-towns-of]");
    if (current && chosen.dataset.kind === "district" && current.dataset.townsOf === chosen.value) return;
    if (current) current.remove();
    if (chosen.dataset.kind !== "district") return;
    const towns = await unitsOf("town", chosen.dataset.code);
    if (!stillChosen() || !towns.length) return;
    scopeSelect.append(optionGroup(chosen.textContent + "的镇街", towns, { "data-towns-of": chosen.value }));
  }

  scopeSelect.addEventListener("change", () => {
    townsOfChosen().catch((error) => FQ.toast(problemText(error), "error"));
  });

  function makeCards(charts) {
    grid.replaceChildren();
    for (const chart of charts) {
      const body = h("div", { class: "chart-body", id: "chart-" + chart.name });
      const csv = h("a", { href: "#", class: "csv-link", download: "" }, "导出CSV");
      const png = h("a", { href: "#", class: "png-link", title: "导出带标题、区域和时间范围的图片" }, "导出图片");
      const card = h("article", {
        class: "card chart-card" + (WIDE.has(chart.name) ? " is-wide" : ""),
        "data-chart": chart.name,
      },
      h("header", {}, h("h2", {}, h("span", { class: "no" }, String(chart.number)), chart.title),
        h("span", { class: "spacer" }), png, csv),
      h("div", { class: "chart-compare" }),
      body,
      h("div", { class: "chart-note" }));
      grid.append(card);
      const instance = chart.name === "grid_map" ? null : echarts.init(body, null, { renderer: "canvas" });
      const entry = { card, body, csv, instance, chart, data: null };
      png.addEventListener("click", (e) => {
        e.preventDefault();
        exportPicture(entry).catch((error) => FQ.toast(problemText(error), "error"));
      });
      cards.set(chart.name, entry);
    }
    window.addEventListener("resize", () => cards.forEach((c) => c.instance && c.instance.resize()));
  }

  // Every tooltip is built as DOM nodes (FQ.chartTip or h()): names of units, grids and classes
  // are typed by people, and ECharts would put a string tooltip into innerHTML. An item tooltip
  // is confined to the chart: unconfined, ECharts draws its arrow with a style attribute, which
  // the CSP refuses.
  const axisTooltip = { trigger: "axis", formatter: chartTip };
  const itemTooltip = { trigger: "item", confine: true, formatter: chartTip };

  function barOrLine(data, type, extra) {
    return Object.assign({
      color: PALETTE, tooltip: axisTooltip, legend: { top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 48 },
      xAxis: { type: "category", data: data.x, axisLabel: { rotate: data.x.length > 8 ? 30 : 0 } },
      yAxis: { type: "value" },
      series: data.series.map((s) => ({
        name: s.name, type: type, data: s.data.map((v) => (v && typeof v === "object" ? v.value : v)),
        smooth: type === "line", showSymbol: data.x.length < 40,
      })),
    }, extra || {});
  }

  function pie(data) {
    return {
      color: PALETTE, tooltip: itemTooltip,
      legend: { type: "scroll", bottom: 0 },
      series: [{ type: "pie", radius: ["35%", "65%"], data: data.series[0].data.filter((d) => d.value > 0),
        label: { formatter: "{b}\n{c}" } }],
    };
  }

  // Charts whose second axis is a rate in percent.
  function rateAxes(option, rateSeries) {
    option.yAxis = [{ type: "value" }, { type: "value", name: "%", max: 100 }];
    option.series.forEach((s, i) => { if (rateSeries.includes(i)) { s.yAxisIndex = 1; s.type = "line"; } });
    return option;
  }

  const OPTIONS = {
    daily_new_closed: (d) => barOrLine(d, "line"),
    handling_status: pie,
    levels: pie,
    major_classes: (d) => barOrLine(d, "bar"),
    top_minor_classes: (d) => barOrLine(d, "bar", {
      xAxis: { type: "value" }, yAxis: { type: "category", data: d.x.slice().reverse() },
      grid: { left: 110, right: 16, top: 24, bottom: 24 },
      series: [{ type: "bar", name: "件数", data: d.series[0].data.map((p) => p.value).reverse() }],
    }),
    sources: pie,
    hour_weekday: (d) => ({
      tooltip: { confine: true, formatter: (p) => h("div", { class: "chart-tip" },
        d.y[p.value[1]] + " " + d.x[p.value[0]] + "：" + p.value[2] + " 件") },
      grid: { left: 48, right: 72, top: 16, bottom: 32 },
      xAxis: { type: "category", data: d.x, splitArea: { show: true } },
      yAxis: { type: "category", data: d.y, splitArea: { show: true } },
      visualMap: { min: 0, max: Math.max(d.max, 1), calculable: true, orient: "vertical", right: 0, top: "center",
        itemHeight: 120, inRange: { color: ["#f4f8fc", "#9ec5f0", "#2f6fde", "#e0533d"] } },
      series: [{ type: "heatmap", name: "新增", data: d.series[0].data }],
    }),
    areas_ranked: (d) => {
      const option = barOrLine(d, "bar");
      option.yAxis = [{ type: "value", name: "每千户" }, { type: "value", name: "件" }];
      option.series[1].yAxisIndex = 1;
      return option;
    },
    handling_time: (d) => barOrLine(d, "bar"),
    on_time_trend: (d) => rateAxes(barOrLine(d, "line"), [0]),
    overdue_by_place_unit: (d) => ({
      color: PALETTE, tooltip: axisTooltip, legend: { top: 0 },
      grid: [{ left: 48, right: "55%", top: 32, bottom: 64 }, { left: "52%", right: 16, top: 32, bottom: 64 }],
      xAxis: [{ type: "category", data: d.x, gridIndex: 0, axisLabel: { rotate: 30 } },
        { type: "category", data: d.units.x, gridIndex: 1, axisLabel: { rotate: 30, width: 80, overflow: "truncate" } }],
      yAxis: [{ type: "value", gridIndex: 0 }, { type: "value", gridIndex: 1 }],
      series: [{ type: "bar", name: "区域超期", data: d.series[0].data, xAxisIndex: 0, yAxisIndex: 0 },
        { type: "bar", name: "单位超期", data: d.units.data, xAxisIndex: 1, yAxisIndex: 1 }],
    }),
    units_volume_time: (d) => ({
      color: PALETTE,
      tooltip: { trigger: "item", confine: true, formatter: (p) => h("div", { class: "chart-tip" },
        h("div", { class: "chart-tip-head" }, p.data.name),
        "交办 " + p.data.value[0] + " 件，平均 " + p.data.value[1] + " 小时") },
      grid: { left: 56, right: 24, top: 24, bottom: 40 },
      xAxis: { type: "value", name: "交办件数" }, yAxis: { type: "value", name: "平均时长（小时）" },
      series: [{ type: "scatter", data: d.series[0].data, symbolSize: 10 }],
    }),
    platforms: (d) => rateAxes(barOrLine(d, "bar"), [2]),
    worker_activity: (d) => {
      const option = barOrLine(d, "bar");
      option.yAxis = [{ type: "value", name: "人" }, { type: "value", name: "件" }];
      option.series[0].type = "line";
      option.series[1].yAxisIndex = 1;
      option.series[2].type = "line";
      return option;
    },
    class_changes: (d) => barOrLine(d, "bar"),
    return_rework: (d) => barOrLine(d, "line", { yAxis: { type: "value", name: "%" } }),
    satisfaction_verification: (d) => ({
      color: PALETTE, tooltip: itemTooltip, legend: { bottom: 0 },
      series: [
        { type: "pie", name: "满意度", radius: ["25%", "50%"], center: ["30%", "50%"], data: d.series[0].data },
        { type: "pie", name: "核查结果", radius: ["25%", "50%"], center: ["75%", "50%"],
          data: d.verification.x.map((x, i) => ({ name: x, value: d.verification.data[i] })) },
      ],
    }),
  };

  // The headline of a chart with 同比/环比, as the API words it: 本期新增 1,234 件 · 同比 +3.2%, or
  // 按期结案率 91.2% · 环比 -1.5个百分点; a base too small to compare with says 无可比数据 (the
  // hover says why). Counts rising show red, falling green; a rate's change is not coloured.
  function compareLine(data) {
    const parts = [];
    for (const head of data.headlines || []) {
      parts.push(h("span", { class: "headline", dataset: { kind: head.kind } }, head.text));
      for (const period of ["yoy", "mom"]) {
        const c = head[period];
        const cls = c.change == null ? "no-base" : head.kind !== "count" || c.change === 0 ? ""
          : c.change > 0 ? "up" : "down";
        parts.push(h("span", { class: cls, dataset: { period: period },
          title: c.from + " 至 " + c.to + (c.why_not ? "：" + c.why_not : "") }, c.text));
      }
    }
    return parts;
  }

  // --- pictures that say what they are ------------------------------------------------------

  // A chart's own picture, as ECharts draws it.
  function loadImage(instance, options) {
    return new Promise((resolve, reject) => {
      const image = new Image();
      image.onload = () => resolve(image);
      image.onerror = () => reject(new Error("图片生成失败"));
      image.src = instance.getDataURL(options);
    });
  }

  // The grid map's polygons (Leaflet's canvas renderer) as one picture; basemap tiles come from
  // another site and cannot be read back, so the picture holds the grids only.
  function mapPicture(entry, ratio) {
    const box = entry.body.getBoundingClientRect();
    const out = document.createElement("canvas");
    out.width = Math.round(box.width * ratio);
    out.height = Math.round(box.height * ratio);
    const context = out.getContext("2d");
    context.fillStyle = "#eef2f5";
    context.fillRect(0, 0, out.width, out.height);
    for (const layer of entry.body.querySelectorAll(".leaflet-pane canvas")) {
      const r = layer.getBoundingClientRect();
      context.drawImage(layer, (r.left - box.left) * ratio, (r.top - box.top) * ratio, r.width * ratio, r.height * ratio);
    }
    return out;
  }

  // A chart's picture with a header drawn into it: number and title, area and date range (and
  // the whole months actually summed), the headline; and who made it when, in a footer.
  async function exportPicture(entry) {
    const { chart, data } = entry;
    if (!data) return;
    const ratio = 2;
    const picture = entry.instance
      ? await loadImage(entry.instance, { type: "png", pixelRatio: ratio, backgroundColor: "#fff" })
      : mapPicture(entry, ratio);
    const family = getComputedStyle(document.body).fontFamily || "sans-serif";
    const pad = 16 * ratio;
    const titleSize = 20 * ratio;
    const lineSize = 13 * ratio;
    const lines = [data.scope.name + " · " + data.from + " 至 " + data.to];
    if (data.effective && data.effective.widened) {
      lines.push("按整月统计：" + data.effective.from + " 至 " + data.effective.to);
    }
    for (const head of data.headlines || []) lines.push([head.text, head.yoy.text, head.mom.text].join("　"));
    const top = pad + titleSize + 10 * ratio + lines.length * (lineSize + 6 * ratio);
    const bottom = lineSize + pad;
    const canvas = document.createElement("canvas");
    canvas.width = picture.width;
    canvas.height = top + picture.height + bottom;
    const context = canvas.getContext("2d");
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.textBaseline = "top";
    context.fillStyle = "#1f2933";
    context.font = "bold " + titleSize + "px " + family;
    context.fillText(chart.number + "．" + chart.title, pad, pad, canvas.width - 2 * pad);
    context.font = lineSize + "px " + family;
    context.fillStyle = "#52606d";
    lines.forEach((line, i) => context.fillText(line, pad, pad + titleSize + 10 * ratio + i * (lineSize + 6 * ratio),
      canvas.width - 2 * pad));
    context.drawImage(picture, 0, top);
    context.fillStyle = "#9aa5b1";
    context.fillText("枫桥 · 分析研判 · 导出于 " + FQ.time(new Date().toISOString()), pad, top + picture.height + pad / 2,
      canvas.width - 2 * pad);
    const link = document.createElement("a");
    link.href = canvas.toDataURL("image/png");
    link.download = chart.name + "-" + data.from + "-" + data.to + ".png";
    link.click();
  }

  function note(data) {
    const parts = [];
    if (data.effective && data.effective.widened) {
      parts.push("按整月统计：" + data.effective.from + " 至 " + data.effective.to);
    }
    if (data.summary) {
      const s = data.summary;
      if (s.closure_rate != null) parts.push("结案率 " + s.closure_rate + "%");
      if (s.average_hours != null) parts.push("平均处置时长 " + s.average_hours + " 小时");
      if (s.average != null) parts.push("平均满意度 " + s.average + " 分（" + number(s.rated) + " 件评价）");
      if (s.pass_rate != null) parts.push("核查通过率 " + s.pass_rate + "%");
      if (s.active_workers != null) parts.push("上报网格员 " + number(s.active_workers) + " 人");
      if (s.units_total > s.units_shown) {
        parts.push("显示交办件数最多的 " + number(s.units_shown) + " 个部门（共 " + number(s.units_total) + " 个）");
      }
    }
    return parts.join("；");
  }

  async function drawGridMap(entry, data, current) {
    if (!gridMap) {
      gridMap = FQ.leafletMap(entry.body, { zoomControl: true, attributionControl: false, preferCanvas: true,
        zoomSnap: 0.1 });
      entry.body.classList.add("grid-map");
    }
    // A city or province is coloured by its districts or cities (data.areas), not its grids.
    const byArea = Boolean(data.areas);
    let features;
    if (byArea) {
      if (!areaGeojson[data.level]) areaGeojson[data.level] = api("/map/areas?kind=" + data.level);
      features = (await areaGeojson[data.level]).features.filter((f) => String(f.properties.id) in data.areas);
    } else {
      if (!gridGeojson) gridGeojson = await api("/grids/geojson");
      features = gridGeojson.features;
    }
    if (!current()) return;
    const values = byArea ? data.areas : data.grids;
    const max = Math.max(data.max, 1);
    const colour = (v) => {
      if (!v) return "#e3e8ee";
      const t = v / max;
      return t > 0.75 ? "#b2182b" : t > 0.5 ? "#ef8a62" : t > 0.25 ? "#fddbc7" : "#d1e5f0";
    };
    if (gridLayer) gridLayer.remove();
    const shown = { type: "FeatureCollection", features };
    gridLayer = L.geoJSON(shown, {
      renderer: L.canvas({ padding: 0.2 }),
      style: (f) => ({ weight: byArea ? 1.2 : 0.5, color: "#7a8896", fillOpacity: 0.8,
        fillColor: colour(values[String(f.properties.id)] || 0) }),
      onEachFeature: (f, layer) => layer.bindTooltip(() =>
        esc(f.properties.name) + "：" + number(values[String(f.properties.id)] || 0) + " 件"),
    }).addTo(gridMap);
    const inScope = L.geoJSON({ type: "FeatureCollection",
      features: features.filter((f) => byArea || values[String(f.properties.id)]) });
    const bounds = inScope.getLayers().length ? inScope.getBounds() : gridLayer.getBounds();
    if (bounds.isValid()) gridMap.fitBounds(bounds, { padding: [8, 8] });
    setTimeout(() => gridMap.invalidateSize(), 0);
    entry.card.dataset.grids = byArea ? "0" : String(Object.keys(values).length);
    entry.card.dataset.areas = byArea ? String(features.length) : "0";
  }

  async function drawChart(entry, params, current) {
    const { card, csv, instance, chart } = entry;
    card.classList.add("is-loading");
    card.querySelector(".chart-error")?.remove();
    const query = "?" + params.toString();
    csv.href = "/api/v1/analytics/charts/" + chart.name + query + "&format=csv";
    try {
      const data = await api("/analytics/charts/" + chart.name + query);
      if (!current()) return;
      entry.data = data;
      card.querySelector(".chart-compare").replaceChildren(...compareLine(data));
      card.querySelector(".chart-note").textContent = note(data);
      card.dataset.rows = String(data.table.rows.length);
      if (chart.name === "grid_map") await drawGridMap(entry, data, current);
      else instance.setOption(OPTIONS[chart.name](data), true);
      if (current()) card.dataset.loaded = "true";
    } catch (error) {
      if (!current()) return;
      card.append(h("p", { class: "chart-error" }, problemText(error)));
      card.dataset.loaded = "error";
    } finally {
      if (current()) card.classList.remove("is-loading");
    }
  }

  // Each refresh is numbered: a slower answer to an older range or area never overwrites the
  // charts of a newer one, nor clears their loading marks.
  const refreshes = FQ.latest();

  async function refresh() {
    const current = refreshes();
    clearErrors(form);
    const params = new URLSearchParams({
      scope: scopeSelect.value, from: form.elements.from.value, to: form.elements.to.value,
    });
    history.replaceState(null, "", "?" + params.toString());
    document.getElementById("range-note").textContent =
      scopeSelect.options[scopeSelect.selectedIndex].text + " · " + params.get("from") + " 至 " + params.get("to");
    cards.forEach((c) => { c.card.dataset.loaded = "false"; });
    // The first of the 18 answers tells a refused range or scope: show it on the form.
    try {
      await api("/analytics/charts/daily_new_closed?" + params.toString());
    } catch (error) {
      if (current()) showErrors(form, error);
      return;
    }
    if (!current()) return;
    await Promise.all([...cards.values()].map((entry) => drawChart(entry, params, current)));
    if (current()) root.dataset.ready = "true";
  }

  async function start() {
    const address = new URLSearchParams(location.search);
    preset("30");
    if (address.get("from")) form.elements.from.value = address.get("from");
    if (address.get("to")) form.elements.to.value = address.get("to");
    const [charts] = await Promise.all([api("/analytics/charts"), loadScopes(address.get("scope"))]);
    makeCards(charts);
    form.addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
    form.querySelectorAll("[data-preset]").forEach((b) =>
      b.addEventListener("click", () => { preset(b.dataset.preset); refresh(); }));
    await refresh();
  }

  start().catch((error) => showErrors(form, error));
})();
