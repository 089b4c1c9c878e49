// 驾驶舱: the command wall. Six panels (1 map, 2 today's figures and alarms, 3 overdue, 4
// warnings, 5 two rotating charts, 6 the cameras of the latest alarm), all on one screen or one
// per screen (?panel=N). Live over the browser's one shared stream (FQ.live): situation, alarm,
// ack. It runs for days: every panel reuses its nodes, the charts their instance (setOption),
// the lists and the map's alarm rings are capped, and a dropped network shows 连接中断，正在重连
// until the page reaches the server again, then reads everything afresh.
(function () {
  "use strict";

  const { api, h, fill, number, short, remaining } = FQ;
  const $ = (id) => document.getElementById(id);
  const root = $("wall");
  const PANEL = Number(root.dataset.panel) || 0;
  const shows = (n) => PANEL === 0 || PANEL === n;
  const LIGHT = { red: "#ff4d4f", yellow: "#ffb020", green: "#3ddc97", none: "#8a94a6", closed: "#4b5a78" };
  const ALARMS_KEPT = 12; // the alarm list's length; older ones leave the DOM
  const RINGS_KEPT = 8; // pulsing rings on the map at most
  const RING_MS = 10 * 60 * 1000;
  const PROBE_MS = 10000; // how often a connected wall reads the situation (the stream's backup)
  const RETRY_MS = 2000; // how often a disconnected wall tries again
  const ROTATE_MS = 20000; // each chart slot's turn
  const ZONE = "Asia/Shanghai"; // the district's time, whatever the screen's computer says
  const CHARTS = [
    ["daily_new_closed", "on_time_trend", "major_classes", "handling_time"],
    ["handling_status", "sources", "top_minor_classes", "levels"],
  ];

  // --- the connection: the stream's state and the page's own reads --------------------------

  let liveUp = null; // what FQ.live says; null before it says anything
  // A shared stream reports "not live" before it first opens: that counts only once it was live,
  // or when it has not opened in GRACE_MS.
  let everLive = false;
  const GRACE_MS = 10000;
  // A stream that was live and dropped counts only when it has not come back in DROP_MS: the
  // browser reopens it within 3 s (a restart, a proxy's idle cut, a network blip), and the wall
  // must not flash 连接中断 for that. A failed read or the browser's offline event still says so
  // at once.
  const DROP_MS = 8000;
  let droppedAt = 0;
  const startedAt = Date.now();
  let reachable = true; // the last read of the server succeeded
  let lostAt = 0; // when the server was last found unreachable (performance.now())
  let down = false;
  let probeTimer = null;
  const counters = { recovered: 0, situations: 0, alarms: 0, acks: 0 };
  let upSince = 0; // when the wall last came back: a read sent before then says nothing new

  function setDown(value) {
    if (value === down) return;
    down = value;
    $("wall-conn").hidden = !down;
    root.dataset.connection = down ? "down" : "up";
    if (!down) {
      upSince = performance.now();
      counters.recovered++;
      root.dataset.recovered = String(counters.recovered);
      refreshAll();
    }
  }

  function onStreamState(live) {
    if (!live && liveUp !== false) {
      droppedAt = Date.now();
      setTimeout(judge, DROP_MS + 100);
    }
    everLive = everLive || live;
    liveUp = live;
    root.dataset.stream = live ? "live" : "dropped";
    judge();
  }

  function judge() {
    const streamDown = liveUp === false &&
      (everLive ? Date.now() - droppedAt >= DROP_MS : Date.now() - startedAt > GRACE_MS);
    setDown(!reachable || streamDown);
  }

  // A read the wall depends on: a failure of the network (not a refusal) marks the wall down.
  async function read(path) {
    const sent = performance.now();
    try {
      const data = await api(path);
      // Only a read sent after the network was lost proves it is back: one already on its way
      // when the browser went offline may still land, and must not bring the wall up early.
      if (!reachable && sent >= lostAt) { reachable = true; judge(); }
      return data;
    } catch (error) {
      // A read that failed while the network was still down, answered after it came back, does
      // not cut the wall off again (it would flash 连接中断 once more).
      if (error instanceof FQ.ApiError && error.status === 0 && sent >= upSince) {
        if (reachable) lostAt = performance.now();
        reachable = false;
        judge();
        schedule(RETRY_MS);
      }
      throw error;
    }
  }

  function schedule(ms) {
    clearTimeout(probeTimer);
    probeTimer = setTimeout(probe, ms);
  }

  async function probe() {
    try {
      renderSituation(await read("/command/situation"));
      schedule(PROBE_MS);
    } catch (_err) {
      schedule(down ? RETRY_MS : PROBE_MS);
    }
  }

  function stamp() {
    $("wall-updated").textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN", { hour12: false, timeZone: ZONE });
  }

  // --- panel 2: today's figures and the alarm list -----------------------------------------

  const figures = new Map();
  for (const node of document.querySelectorAll("#wall-figures .figure")) {
    figures.set(node.dataset.key, node.querySelector("b"));
  }
  let alarms = []; // newest first, at most ALARMS_KEPT
  const taken = new Set();
  const heard = new Set(); // alarms the stream announced (not only found in a situation read)

  function renderSituation(s) {
    counters.situations++;
    for (const [key, value] of Object.entries(s.today || {})) {
      const node = figures.get(key);
      if (node && node.textContent !== number(value)) node.textContent = number(value);
    }
    if (shows(3)) renderOverdue(s.overdue || [], (s.today || {}).overdue);
    // The situation lists the day's urgent events: it refreshes the list an alarm frame started.
    mergeAlarms(s.alarms || [], false);
    stamp();
  }

  function alarmItem(a, fresh) {
    return h("li", { class: (fresh ? "is-new" : "") + (taken.has(a.id) ? " is-taken" : ""),
      dataset: { id: a.id, via: heard.has(a.id) ? "stream" : "read" } },
      h("span", { class: "tag" }, "紧急"), h("span", { class: "title" }, a.title),
      h("span", { class: "meta" }, short(a.created_at) + " " + (a.town || "")));
  }

  function mergeAlarms(list, fresh) {
    const seen = new Set(alarms.map((a) => a.id));
    const added = list.filter((a) => !seen.has(a.id));
    if (!added.length && !fresh) return;
    alarms = added.concat(alarms).sort((a, b) => b.id - a.id).slice(0, ALARMS_KEPT);
    for (const kept of [taken, heard]) {
      for (const id of kept) if (!alarms.some((a) => a.id === id)) kept.delete(id);
    }
    if (shows(2)) {
      fill($("wall-alarms"), alarms.length ? alarms.map((a) => alarmItem(a, fresh && added.includes(a)))
        : h("li", { class: "muted" }, "暂无报警"));
      $("alarm-count").textContent = alarms.length ? String(alarms.length) : "";
    }
    if (alarms.length && (!latest || alarms[0].id > latest.id)) showLatest(alarms[0]);
  }

  function onAlarm(alarm) {
    counters.alarms++;
    heard.add(alarm.id);
    mergeAlarms([alarm], true);
    if (shows(1) && map && typeof alarm.lat === "number") ring(alarm);
    refreshSoon();
  }

  function onAck(ack) {
    counters.acks++;
    taken.add(ack.id);
    const item = document.querySelector("#wall-alarms li[data-id='" + ack.id + "']");
    if (item) item.classList.add("is-taken");
  }

  // --- panel 3: overdue, and what falls due next (the events list sorted by urgency) ---------

  function renderOverdue(list, total) {
    $("overdue-count").textContent = total ? number(total) + " 件" : "";
    fill($("wall-overdue"), list.length ? list.map((e) => h("li", {},
      h("span", { class: "tag" }, "超期"), h("span", { class: "title" }, e.title),
      h("span", { class: "meta" }, remaining(e.due_at) + " · " + (e.unit || e.town || ""))))
      : h("li", { class: "muted" }, "没有超期事件"));
  }

  async function loadSoon() {
    const page = await read("/events?light=yellow&sort=urgency&size=8");
    fill($("wall-soon"), page.items.length ? page.items.map((e) => h("li", {},
      h("span", { class: "tag is-amber" }, "临期"), h("span", { class: "title" }, e.title),
      h("span", { class: "meta" }, remaining(e.due_at))))
      : h("li", { class: "muted" }, "暂无临期事件"));
  }

  // --- panel 4: the warnings ---------------------------------------------------------------

  async function loadWarnings() {
    const page = await read("/warnings?status=open&size=12");
    $("warning-count").textContent = page.total ? number(page.total) + " 条待处理" : "";
    fill($("wall-warnings"), page.items.length ? page.items.map((w) => h("li", {},
      h("span", { class: "tag" + (w.level === "district" ? "" : " is-amber") }, FQ.label("warningKinds", w.kind)),
      h("span", { class: "title" }, w.message),
      h("span", { class: "meta" }, short(w.created_at) + " " + (w.town || ""))))
      : h("li", { class: "muted" }, "暂无待处理预警"));
  }

  // --- panel 1: the map --------------------------------------------------------------------

  let map = null;
  let gridLayer = null;
  let eventLayer = null;
  let ringLayer = null;
  let renderer = null;
  const rings = [];

  function makeMap() {
    map = FQ.leafletMap("wall-map", { zoomSnap: 0.25, zoomControl: false, attributionControl: true, maxZoom: 18 });
    const basemap = root.dataset.basemap;
    if (FQ.basemap) FQ.basemap.add(map, { theme: "dark" });
    else if (basemap) {
      L.tileLayer(basemap, { subdomains: "01234567", maxZoom: 18,
        attribution: FQ.esc(root.dataset.attribution || "") }).addTo(map);
    }
    renderer = L.canvas({ padding: 0.2 });
    eventLayer = L.layerGroup().addTo(map);
    ringLayer = L.layerGroup().addTo(map);
  }

  // A city's or province's wall draws the outlines one level down and one dot per area sized by
  // its open events: never the 85,000 grids and every event of a province (as /map, map_levels.js).
  const AREA_OF = { province: "city", city: "district" }[root.dataset.homeKind];
  let areas = [];

  async function loadGrids() {
    const geojson = await read(AREA_OF ? "/map/areas?kind=" + AREA_OF : "/grids/geojson");
    areas = AREA_OF ? geojson.features || [] : [];
    gridLayer = L.geoJSON(geojson, { renderer: renderer, interactive: false,
      style: { color: "#2f5ea8", weight: 0.8, fillColor: "#15305e", fillOpacity: 0.35 } }).addTo(map);
    gridLayer.bringToBack();
    if ((geojson.features || []).length) map.fitBounds(gridLayer.getBounds(), { padding: [8, 8] });
    else map.setView([30.07, 120.5], 10);
  }

  // One layer group for the whole run: a refresh empties it and draws the points on one canvas.
  async function loadAreaCounts() {
    const counts = (await read("/command/area-stats?days=30&kind=" + AREA_OF)).areas || {};
    eventLayer.clearLayers();
    let open = 0;
    for (const f of areas) {
      const c = counts[f.properties.id];
      if (!c || !c.open) continue;
      open += c.open;
      const [west, south, east, north] = f.bbox;
      L.circleMarker([(south + north) / 2, (west + east) / 2], { renderer: renderer,
        interactive: false, radius: Math.min(30, 6 + Math.sqrt(c.open)), weight: 2, color: "#ffffff",
        fillColor: c.red ? LIGHT.red : c.yellow ? LIGHT.yellow : LIGHT.green, fillOpacity: 0.85,
      }).addTo(eventLayer);
    }
    root.dataset.areas = String(areas.length);
    $("map-note").textContent = "在办 " + number(open) + " 件";
  }

  async function loadEvents() {
    if (AREA_OF) return loadAreaCounts();
    const geojson = await read("/command/events.geojson");
    eventLayer.clearLayers();
    let open = 0;
    for (const f of geojson.features || []) {
      const p = f.properties;
      const [lng, lat] = f.geometry.coordinates;
      if (p.status !== "closed") open++;
      L.circleMarker([lat, lng], { renderer: renderer, interactive: false, radius: p.urgent ? 7 : 4,
        weight: p.urgent ? 2 : 0, color: "#ffffff", fillColor: LIGHT[p.light] || LIGHT.none, fillOpacity: 0.9,
      }).addTo(eventLayer);
    }
    root.dataset.events = String((geojson.features || []).length);
    $("map-note").textContent = "在办 " + number(open) + " 件";
  }

  function ring(alarm) {
    const marker = L.marker([alarm.lat, alarm.lng], { interactive: false, keyboard: false,
      icon: L.divIcon({ className: "wall-alarm-icon", html: h("span"), iconSize: [44, 44] }) });
    marker.addTo(ringLayer);
    rings.push({ marker: marker, at: Date.now() });
    while (rings.length > RINGS_KEPT) ringLayer.removeLayer(rings.shift().marker);
  }

  function expireRings() {
    while (rings.length && Date.now() - rings[0].at > RING_MS) ringLayer.removeLayer(rings.shift().marker);
  }

  // --- panel 5: two chart slots, each turning through its charts ----------------------------

  const slots = [];

  function chartOption(name, d) {
    // Type for a room: a 1080-line screen gets 18 px on the whole wall, 27 px on one panel's screen.
    const size = Math.round(innerHeight / (PANEL ? 40 : 60));
    const text = { color: "#c9d6ee", fontSize: size };
    const axis = { axisLabel: text, axisLine: { lineStyle: { color: "#3a5283" } },
      splitLine: { lineStyle: { color: "#1b2c4d" } } };
    const base = { backgroundColor: "transparent", textStyle: text, animation: false,
      color: ["#4f8cff", "#3ddc97", "#ffb020", "#ff6b6b", "#b48cff", "#2bc4d4", "#d4c04a"],
      legend: { top: 0, textStyle: text }, tooltip: { confine: true, formatter: FQ.chartTip } };
    const flat = (v) => (v && typeof v === "object" ? v.value : v);
    if (["handling_status", "sources", "levels"].includes(name)) {
      return Object.assign(base, { legend: { bottom: 0, textStyle: text, type: "scroll" },
        tooltip: { trigger: "item", confine: true, formatter: FQ.chartTip },
        series: [{ type: "pie", radius: ["38%", "66%"], center: ["50%", "45%"],
          data: d.series[0].data.filter((p) => p.value > 0), label: { color: "#e6edf7", fontSize: size, formatter: "{b} {c}" } }] });
    }
    if (name === "top_minor_classes") {
      return Object.assign(base, { legend: { show: false }, grid: { left: size * 8, right: 24, top: 8, bottom: size * 2 },
        tooltip: { trigger: "axis", confine: true, formatter: FQ.chartTip },
        xAxis: Object.assign({ type: "value" }, axis),
        yAxis: Object.assign({ type: "category", data: d.x.slice().reverse() }, axis),
        series: [{ type: "bar", name: "件数", data: d.series[0].data.map(flat).reverse() }] });
    }
    const rate = (s) => s.name.includes("%");
    const rates = d.series.some(rate);
    return Object.assign(base, {
      grid: { left: size * 3.5, right: rates ? size * 3.5 : 24, top: size * 2.5, bottom: size * 2.2 },
      tooltip: { trigger: "axis", confine: true, formatter: FQ.chartTip },
      xAxis: Object.assign({ type: "category", data: d.x }, axis),
      yAxis: rates ? [Object.assign({ type: "value" }, axis), Object.assign({ type: "value", max: 100 }, axis)]
        : Object.assign({ type: "value" }, axis),
      series: d.series.map((s) => ({ name: s.name, type: rate(s) || name === "daily_new_closed" ? "line" : "bar",
        yAxisIndex: rates && rate(s) ? 1 : 0, showSymbol: false, smooth: true, data: s.data.map(flat) })),
    });
  }

  async function showChart(slot) {
    const name = slot.names[slot.turn % slot.names.length];
    let data;
    try {
      data = await read("/analytics/charts/" + name);
    } catch (_err) {
      return; // the slot keeps its last chart; the next turn tries again
    }
    const title = slot.node.querySelector(".chart-title");
    if (title.textContent !== data.title) title.textContent = data.title;
    slot.chart.setOption(chartOption(name, data), true);
    slot.node.dataset.chart = name;
  }

  function rotate() {
    return Promise.all(slots.map((slot) => {
      slot.turn++;
      return showChart(slot);
    }));
  }

  // The chart slots, once ECharts has loaded (it loads beside the first reads); their first
  // charts are read after the wall's own first reads.
  let chartsMayStart = false;

  function startCharts() {
    for (const [i, names] of CHARTS.entries()) {
      const node = $(i ? "chart-b" : "chart-a");
      slots.push({ node: node, names: names, turn: 0,
        chart: echarts.init(node.querySelector(".chart-body"), null, { renderer: "canvas" }) });
    }
    if (chartsMayStart) for (const slot of slots) showChart(slot);
    setInterval(rotate, ROTATE_MS);
  }

  // --- panel 6: the cameras near the latest alarm ------------------------------------------

  let latest = null;
  let cameraTimer = null;

  function showLatest(alarm) {
    latest = alarm;
    if (!shows(6)) return;
    $("camera-alarm").textContent = "紧急报警：" + alarm.title + " · " + (alarm.town || "") + " " + short(alarm.created_at);
    // A burst of alarms asks for the cameras of the last one only.
    clearTimeout(cameraTimer);
    cameraTimer = setTimeout(loadCameras, 500);
  }

  function cameraTile(c) {
    return h("div", { class: "camera-tile", dataset: { code: c.code, status: c.status } },
      h("strong", {}, c.name),
      h("span", { class: "cam-state cam-" + c.status }, "● " + (FQ.CAMERA_STATUS[c.status] || c.status)),
      h("span", { class: "muted" }, "距报警点 " + number(Math.round(c.distance_m)) + " 米" +
        (c.install_place ? " · " + c.install_place : "")));
  }

  async function loadCameras() {
    if (!latest || typeof latest.lat !== "number") return;
    const box = $("wall-cameras");
    let cameras;
    try {
      cameras = await read("/layers/cameras/nearest?lat=" + latest.lat + "&lng=" + latest.lng + "&limit=4&radius_m=2000");
    } catch (error) {
      fill(box, h("p", { class: "camera-empty" }, FQ.problemText(error)));
      return;
    }
    root.dataset.cameras = String(cameras.length);
    if (!cameras.length) {
      fill(box, h("p", { class: "camera-empty" }, "报警点 2 公里内暂无视频"));
    } else if (FQ.video && FQ.video.grid) {
      box.replaceChildren();
      FQ.video.grid(box, cameras, { max: 4 });
    } else {
      fill(box, cameras.map(cameraTile));
    }
  }

  // --- refreshing ---------------------------------------------------------------------------

  let soonTimer = null;

  // After a burst of frames the map and the due-soon list are read once.
  function refreshSoon() {
    clearTimeout(soonTimer);
    soonTimer = setTimeout(() => {
      if (shows(1) && map) loadEvents().catch(() => {});
      if (shows(3)) loadSoon().catch(() => {});
    }, 1500);
  }

  function refreshAll() {
    probe();
    if (shows(1) && map) loadEvents().catch(() => {});
    if (shows(3)) loadSoon().catch(() => {});
    if (shows(4)) loadWarnings().catch(() => {});
    for (const slot of slots) showChart(slot);
    if (shows(6)) loadCameras();
  }

  function tick() {
    const now = new Date();
    $("wall-clock").textContent = now.toLocaleString("zh-CN", { hour12: false, timeZone: ZONE, month: "long", day: "numeric",
      weekday: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    expireRings();
  }

  async function start() {
    tick();
    setInterval(tick, 1000);
    if (shows(1)) makeMap();
    if (shows(5)) {
      if (window.echarts) startCharts();
      else $("echarts-script").addEventListener("load", startCharts);
    }
    window.addEventListener("resize", () => {
      if (map) map.invalidateSize();
      for (const slot of slots) slot.chart.resize();
    });
    // The browser says when it loses the network: the wall says so at once and keeps trying.
    window.addEventListener("offline", () => {
      if (reachable) lostAt = performance.now();
      reachable = false;
      judge();
      schedule(RETRY_MS);
    });
    window.addEventListener("online", () => schedule(0));
    try {
      const first = [read("/command/situation").then(renderSituation)];
      if (shows(1)) first.push(loadGrids().then(loadEvents));
      await Promise.all(first);
    } catch (error) {
      $("wall-updated").textContent = FQ.problemText(error);
    }
    root.dataset.state = "ready";
    performance.mark("fq-wall-ready");
    if (shows(3)) loadSoon().catch(() => {});
    if (shows(4)) loadWarnings().catch(() => {});
    chartsMayStart = true;
    for (const slot of slots) showChart(slot);
    setInterval(() => { if (!down && shows(4)) loadWarnings().catch(() => {}); }, 60000);
    schedule(PROBE_MS);
    FQ.live.on("state", onStreamState);
    setTimeout(judge, GRACE_MS + 500);
    FQ.live.on("situation", (s) => { renderSituation(s); refreshSoon(); });
    FQ.live.on("alarm", onAlarm);
    FQ.live.on("ack", onAck);
  }

  // What the stream delivers, callable directly: the memory benchmark (bench/bench_wall.py)
  // drives hours of frames through the same handlers in minutes.
  window.FQ.wall = {
    feed: (kind, data) => ({ situation: renderSituation, alarm: onAlarm, ack: onAck,
      state: onStreamState })[kind](data),
    rotate: rotate,
    counters: counters,
  };
  start();
})();
