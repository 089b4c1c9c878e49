// 一张图: the command room's live map. Grids (coloured by light, density or town), events by
// light (urgent ones pulse), grid workers' live positions, today's patrol tracks and the point
// layers; a side panel with today's counts, alarms and the overdue list kept live over SSE; and
// an event card with the trail, photos, nearest on-duty workers (tel:) and nearest cameras.
(function () {
  "use strict";

  const { api, h, esc, time, short, remaining, number, lightBadge, statusBadge, toast, T } = FQ;
  const $ = (id) => document.getElementById(id);
  const root = $("onemap");
  const ONDUTY = Number(root.dataset.ondutyMinutes) || 30;
  const PALETTE = [
    "#3d85c6", "#6aa84f", "#e69138", "#8e7cc3", "#45818e", "#d4a017", "#c27ba0", "#0b5394",
    "#93c47d", "#b45f06", "#674ea7", "#76a5af", "#38761d", "#e07a5f", "#7f6000", "#4a86e8",
  ];
  const LIGHT_FILL = { red: "#d93025", yellow: "#f2a600", green: "#34a853", none: "#9aa0a6" };
  const DENSITY = ["#fff5eb", "#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603"];
  const POINT_LAYERS = [
    ["hospital", "医院", "#d93025", "医"],
    ["school", "学校", "#1a73e8", "学"],
    ["emergency_resource", "应急资源", "#e37400", "应"],
    ["enterprise", "企业", "#5f6368", "企"],
    ["camera", "视频监控", "#188038", "摄"],
    ["iot_device", "物联设备", "#9334e6", "感"],
  ];

  let map = null;
  let grids = null;
  let gridFeatures = [];
  let stats = { grids: {} };
  let eventLayer = null;
  let workerLayer = null;
  let trackLayer = null;
  let selected = null;
  const pointLayers = {};

  // --- map and layers -----------------------------------------------------------------------

  function makeMap() {
    map = FQ.leafletMap("map", { zoomSnap: 0.25, maxZoom: 19, minZoom: 5 });
    const basemap = root.dataset.basemap;
    if (basemap) {
      // A configured basemap (Tianditu WMTS with a key); without one the grids are the map.
      L.tileLayer(basemap, {
        subdomains: "01234567", maxZoom: 18, attribution: FQ.esc(root.dataset.attribution || ""),
      }).addTo(map);
    }
    return map;
  }

  function townOf(props) {
    return String(props.code).slice(0, 9);
  }

  function gridStyle(mode) {
    const towns = Array.from(new Set(gridFeatures.map((f) => townOf(f.properties)))).sort();
    const recent = gridFeatures.map((f) => (stats.grids[f.properties.id] || {}).recent || 0);
    const sorted = recent.slice().sort((a, b) => a - b);
    const quantile = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] || 0;
    const breaks = [0.2, 0.4, 0.6, 0.8, 0.95].map(quantile);
    return (feature) => {
      const props = feature.properties;
      const s = stats.grids[props.id] || { open: 0, red: 0, yellow: 0, recent: 0 };
      let fill;
      if (mode === "light") {
        fill = s.red ? LIGHT_FILL.red : s.yellow ? LIGHT_FILL.yellow : s.open ? LIGHT_FILL.green
          : "#dfe3e8";
      } else if (mode === "density") {
        let step = 0;
        while (step < breaks.length && s.recent > breaks[step]) step++;
        fill = DENSITY[step];
      } else {
        fill = PALETTE[towns.indexOf(townOf(props)) % PALETTE.length];
      }
      return { color: "#ffffff", weight: 0.8, opacity: 1, fillColor: fill, fillOpacity: 0.55 };
    };
  }

  function gridPopup(props) {
    const s = stats.grids[props.id] || {};
    return h("div", { class: "grid-popup" },
      h("strong", {}, props.name), " ", h("code", {}, props.code),
      h("dl", {},
        h("dt", {}, "户数"), h("dd", {}, number(props.households)),
        h("dt", {}, "人口"), h("dd", {}, number(props.population)),
        h("dt", {}, "在办事件"), h("dd", {}, number(s.open || 0)),
        h("dt", {}, "超期"), h("dd", {}, number(s.red || 0)),
        h("dt", {}, "近30天"), h("dd", {}, number(s.recent || 0))));
  }

  async function loadGrids(pending) {
    const [geojson, gridStats] = await pending;
    stats = gridStats;
    gridFeatures = geojson.features || [];
    // Thousands of polygons draw far faster on one canvas than as SVG paths.
    const renderer = gridFeatures.length > 400 ? L.canvas({ padding: 0.2 }) : L.svg();
    grids = L.geoJSON(geojson, {
      renderer: renderer,
      style: gridStyle($("grid-colour").value),
      onEachFeature: (feature, layer) => layer.bindPopup(() => gridPopup(feature.properties)),
    }).addTo(map);
    if (gridFeatures.length) map.fitBounds(grids.getBounds(), { padding: [16, 16] });
    else map.setView([30.07, 120.5], 10);
    $("map-status").textContent = gridFeatures.length
      ? "共 " + number(gridFeatures.length) + " 个网格" : "辖区内暂无网格";
    renderLegend();
  }

  function restyleGrids() {
    if (grids) grids.setStyle(gridStyle($("grid-colour").value));
    renderLegend();
  }

  function eventIcon(props) {
    const cls = "ev-dot light-" + props.light + (props.urgent && props.status !== "closed"
      ? " is-urgent" : "");
    return L.divIcon({ className: "ev-icon", html: h("span", { class: cls }), iconSize: [16, 16] });
  }

  function eventCluster() {
    return L.markerClusterGroup({
      chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 45,
      iconCreateFunction: (cluster) => {
        const children = cluster.getAllChildMarkers();
        const red = children.some((m) => m.options.props.light === "red");
        const urgent = children.some((m) => m.options.props.urgent && m.options.props.status !== "closed");
        return L.divIcon({
          className: "ev-cluster" + (red ? " has-red" : "") + (urgent ? " has-urgent" : ""),
          html: h("span", {}, String(children.length)), iconSize: [34, 34],
        });
      },
    });
  }

  // One cluster group for the whole session: a refresh swaps its markers, so the layer keeps
  // its place and its on/off state in the layer control.
  async function loadEvents(pending) {
    const geojson = await (pending || api("/command/events.geojson"));
    const markers = (geojson.features || []).map((f) => {
      const [lng, lat] = f.geometry.coordinates;
      const marker = L.marker([lat, lng], {
        icon: eventIcon(f.properties), props: f.properties, title: f.properties.code,
        keyboard: false,
      });
      marker.on("click", () => openEvent(f.properties.id));
      return marker;
    });
    if (!eventLayer) eventLayer = eventCluster().addTo(map);
    eventLayer.clearLayers();
    eventLayer.addLayers(markers);
    root.dataset.events = String(markers.length);
  }

  async function loadWorkers() {
    let geojson;
    try {
      geojson = await api("/positions/latest?minutes=" + ONDUTY);
    } catch (_err) {
      return; // the live layer is a help; the map works without it
    }
    const layer = workerLayer || L.layerGroup();
    layer.clearLayers();
    for (const f of geojson.features || []) {
      const [lng, lat] = f.geometry.coordinates;
      const p = f.properties;
      L.marker([lat, lng], {
        icon: L.divIcon({ className: "worker-icon" + (p.on_patrol ? " on-patrol" : ""),
          html: "<span>员</span>", iconSize: [22, 22] }),
        title: p.name,
      }).bindPopup(() => h("div", { class: "worker-popup" },
        h("strong", {}, p.name), h("br"), "网格 ", p.grid || "—", h("br"),
        "定位 ", short(p.at), p.accuracy ? " · ±" + Math.round(p.accuracy) + " 米" : "",
        p.phone ? h("div", {}, h("a", { class: "btn btn-small", href: "tel:" + p.phone }, "呼叫 " + p.phone)) : null,
      )).addTo(layer);
    }
    workerLayer = layer;
    root.dataset.workers = String((geojson.features || []).length);
  }

  function today() {
    return new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
  }

  async function loadTracks() {
    let geojson;
    try {
      geojson = await api("/tracks/geojson?date=" + today());
    } catch (_err) {
      return;
    }
    const layer = trackLayer || L.layerGroup();
    layer.clearLayers();
    L.geoJSON(geojson, {
      style: { color: "#1a73e8", weight: 2.5, opacity: 0.8 },
      onEachFeature: (feature, line) => {
        const p = feature.properties;
        const file = "/api/v1/tracks/" + p.user_id + "/" + p.date;
        line.bindPopup(() => h("div", { class: "track-popup" }, h("strong", {}, p.name), h("br"),
          "里程 " + (p.distance_m / 1000).toFixed(2) + " 公里 · 时长 " + Math.round(p.duration_s / 60) + " 分钟",
          h("div", {}, "导出轨迹 ", h("a", { href: file + ".gpx", download: "" }, "GPX"), " · ",
            h("a", { href: file + ".geojson", download: "" }, "GeoJSON"))));
      },
    }).addTo(layer);
    trackLayer = layer;
  }

  // Today's tracks of a whole district are large: read only when the layer is switched on.
  function tracksOnDemand() {
    trackLayer = L.layerGroup();
    trackLayer.on("add", () => {
      if (!trackLayer.loaded) {
        trackLayer.loaded = true;
        loadTracks();
      }
    });
    return trackLayer;
  }

  function pointLayer(kind, label, colour, glyph) {
    const group = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false,
      maxClusterRadius: 60, disableClusteringAtZoom: 17 });
    group.on("add", async () => {
      if (group.loaded) return;
      group.loaded = true;
      try {
        const geojson = await api("/layers/" + kind);
        group.addLayers((geojson.features || []).map((f) => {
          const [lng, lat] = f.geometry.coordinates;
          const p = f.properties;
          // A camera is coloured by the status its video platform last reported.
          const fill = kind === "camera" ? FQ.CAMERA_COLOURS[(p.props || {}).status] || colour : colour;
          return L.marker([lat, lng], {
            icon: L.divIcon({ className: "poi-icon" + (kind === "camera" ? " cam-" + (p.props || {}).status : ""),
              html: h("span", { style: { background: fill } }, glyph), iconSize: [20, 20] }),
            title: p.name,
          }).bindPopup(() => poiPopup(kind, label, p));
        }));
      } catch (error) {
        group.loaded = false;
        toast(label + "：" + FQ.problemText(error), "error");
      }
    });
    pointLayers[kind] = group;
    return group;
  }

  function poiPopup(kind, label, p) {
    const props = p.props || {};
    const stream = FQ.safeUrl(props.stream_url);
    const camera = kind === "camera";
    return h("div", { class: "poi-popup" }, h("span", { class: "tag" }, label), " ",
      h("strong", {}, p.name), p.code ? h("div", {}, h("code", {}, p.code)) : null,
      camera && props.status ? h("div", {}, FQ.cameraBadge(props.status),
        props.last_seen_at ? h("span", { class: "muted" }, " 最后在线 " + short(props.last_seen_at)) : null) : null,
      camera && props.install_place ? h("div", { class: "muted" }, "安装位置：" + props.install_place) : null,
      props.phone ? h("div", {}, h("a", { href: "tel:" + props.phone }, props.phone)) : null,
      props.device_type ? h("div", {}, props.device_type + " · " + (props.status || "")) : null,
      stream ? h("div", {}, h("a", { href: stream, target: "_blank", rel: "noopener" }, "查看视频流")) : null);
  }

  let layers = null;

  function addLayerControl() {
    const overlays = {
      "网格": grids,
      "事件（按红黄绿灯）": eventLayer,
      "网格员实时位置": workerLayer || L.layerGroup(),
      "今日巡查轨迹": tracksOnDemand(),
    };
    for (const [kind, label, colour, glyph] of POINT_LAYERS) {
      overlays[label] = pointLayer(kind, label, colour, glyph);
    }
    layers = L.control.layers(null, overlays, { collapsed: false, position: "topright" }).addTo(map);
    // Leaflet names the layer switch "Layers" in English.
    const toggle = layers.getContainer().querySelector(".leaflet-control-layers-toggle");
    if (toggle) toggle.title = "图层";
    if (workerLayer) workerLayer.addTo(map);
  }

  function renderLegend() {
    const mode = $("grid-colour").value;
    const entry = (colour, text, cls) => h("li", { class: cls || "" },
      h("span", { class: "swatch", style: { background: colour } }), h("span", {}, text));
    const items = [];
    if (mode === "light") {
      items.push(entry(LIGHT_FILL.red, "有超期事件"), entry(LIGHT_FILL.yellow, "有临期事件"),
        entry(LIGHT_FILL.green, "在办均正常"), entry("#dfe3e8", "无在办事件"));
    } else if (mode === "density") {
      items.push(entry(DENSITY[0], "事件较少"), entry(DENSITY[5], "事件较多（近30天）"));
    }
    items.push(entry("#d93025", "事件 · 红灯", "dot"), entry("#f2a600", "事件 · 黄灯", "dot"),
      entry("#34a853", "事件 · 绿灯", "dot"), h("li", {}, h("span", { class: "ev-dot light-red is-urgent legend-pulse" }), h("span", {}, "紧急事件（闪烁）")),
      ...Object.entries(FQ.CAMERA_STATUS).map(([status, word]) => entry(FQ.CAMERA_COLOURS[status], "视频 · " + word)));
    FQ.fill($("legend"), ...items);
  }

  // --- the situation panel, live ------------------------------------------------------------

  function renderSituation(s) {
    for (const [key, value] of Object.entries(s.today)) {
      const card = document.querySelector("#today-cards .stat[data-key='" + key + "'] .stat-value");
      if (card) card.textContent = number(value);
    }
    const overdue = s.overdue.map((e) => h("li", {},
      h("a", { href: "/events/" + e.id, onclick: (ev) => { ev.preventDefault(); openEvent(e.id); } },
        h("span", { class: "light light-red" }, "超期"), " ", e.title),
      h("span", { class: "muted" }, " " + (e.unit || e.town) + " · " + remaining(e.due_at) +
        (e.rung && e.rung !== T.rungs[0] ? " · 已升级至" + e.rung : ""))));
    FQ.fill($("overdue-list"), ...(overdue.length ? overdue : [h("li", { class: "muted" }, "没有超期事件")]));
    renderAlarms(s.alarms);
  }

  let alarms = [];

  function renderAlarms(list) {
    alarms = list.slice(0, 20);
    const items = alarms.map((a) => h("li", { class: "alarm", dataset: { id: a.id } },
      h("a", { href: "/events/" + a.id, onclick: (ev) => { ev.preventDefault(); openEvent(a.id, true); } },
        h("span", { class: "badge-urgent" }, "紧急"), " ", a.title),
      h("span", { class: "muted" }, " " + a.town + " · " + short(a.created_at))));
    FQ.fill($("alarm-list"), ...(items.length ? items : [h("li", { class: "muted" }, "暂无报警")]));
    $("alarm-count").textContent = alarms.length ? String(alarms.length) : "";
  }

  function onAlarm(alarm) {
    if (alarms.some((a) => a.id === alarm.id)) return;
    renderAlarms([alarm].concat(alarms));
    toast("紧急报警：" + alarm.title + "（" + alarm.town + "）", "alarm");
    const ping = L.circleMarker([alarm.lat, alarm.lng], { radius: 14, color: "#d93025",
      weight: 3, fillOpacity: 0.2, className: "alarm-ping" }).addTo(map);
    setTimeout(() => ping.remove(), 60000);
    loadEvents().catch(() => {});
  }

  function connect() {
    const source = new EventSource("/api/v1/command/stream");
    source.addEventListener("open", () => $("live-state").classList.add("is-live"));
    source.addEventListener("error", () => $("live-state").classList.remove("is-live"));
    source.addEventListener("alarm", (e) => onAlarm(JSON.parse(e.data)));
    source.addEventListener("situation", (e) => {
      renderSituation(JSON.parse(e.data));
      refreshStats();
    });
  }

  let statsTimer = null;

  function refreshStats() {
    clearTimeout(statsTimer);
    statsTimer = setTimeout(async () => {
      try {
        stats = await api("/command/grid-stats?days=30");
        restyleGrids();
        await loadEvents();
      } catch (_err) { /* next change retries */ }
    }, 500);
  }

  // --- the event card -----------------------------------------------------------------------

  async function openEvent(id, fly) {
    selected = id;
    const card = $("event-card");
    const body = $("event-card-body");
    card.hidden = false;
    FQ.fill(body, h("p", { class: "muted" }, "加载中…"));
    let event;
    try {
      event = await api("/events/" + id);
    } catch (error) {
      FQ.fill(body, h("p", { class: "form-error" }, FQ.problemText(error)));
      return;
    }
    if (selected !== id) return;
    if (fly) {
      // Centre it in the part of the map the card leaves free.
      map.flyToBounds(L.latLng(event.lat, event.lng).toBounds(400),
        { paddingBottomRight: [card.offsetWidth + 24, 0], maxZoom: 16, duration: 0.6 });
    }
    const near = "lat=" + event.lat + "&lng=" + event.lng + "&limit=5&minutes=" + ONDUTY;
    const workersBox = h("ul", { class: "mini-list", id: "nearest-workers" }, h("li", { class: "muted" }, "查询中…"));
    const camerasBox = h("ul", { class: "mini-list", id: "nearest-cameras" }, h("li", { class: "muted" }, "查询中…"));
    const photos = event.attachments.map((a) => h("a", { href: a.url, target: "_blank" },
      h("img", { src: a.url, alt: a.kind, loading: "lazy" })));
    const trail = event.trail.slice(-6).map((r) => h("li", {},
      h("span", { class: "when" }, short(r.at)), " ",
      h("strong", {}, (T.actions || {})[r.action] || r.action), " ",
      h("span", { class: "muted" }, (r.actor ? r.actor.name : "系统") + (r.note ? "：" + r.note : ""))));
    FQ.fill(body, ...[
      h("div", { class: "card-head" }, lightBadge(event.light), " ", statusBadge(event.status),
        event.urgent ? h("span", { class: "badge-urgent" }, "紧急") : null),
      h("h3", { id: "event-card-title" }, event.title),
      h("p", { class: "muted" }, h("code", {}, event.code), " · ", event.category_name, " · ",
        event.town.name, event.village.name, event.grid.name),
      h("p", { class: "description" }, event.description),
      h("dl", { class: "facts" },
        h("dt", {}, "责任单位"), h("dd", {}, event.owner_unit ? event.owner_unit.name : "待交办"),
        h("dt", {}, "处置时限"), h("dd", {}, time(event.due_at), " ", h("span", { class: "muted" }, remaining(event.due_at))),
        h("dt", {}, "协调层级"), h("dd", {}, event.escalation_rung_name)),
      photos.length ? h("div", { class: "photos" }, photos) : null,
      h("h4", {}, "最近流转"), h("ol", { class: "timeline compact" }, trail),
      h("h4", {}, "附近在岗网格员"), workersBox,
      h("h4", {}, "附近视频"), camerasBox,
      h("p", {}, h("a", { class: "btn btn-primary", href: "/events/" + event.id }, "详情与处置")),
    ].filter(Boolean));
    api("/positions/nearest?" + near).then((rows) => {
      FQ.fill(workersBox, ...(rows.length ? rows.map((w) => h("li", {},
        h("strong", {}, w.name), " ", h("span", { class: "muted" }, Math.round(w.distance_m) + " 米 · " + short(w.at)),
        w.tel ? h("a", { class: "btn btn-small call", href: w.tel }, "一键呼叫") : null))
        : [h("li", { class: "muted" }, "附近暂无在岗网格员")]));
    }).catch(() => FQ.fill(workersBox, h("li", { class: "muted" }, "暂不可用")));
    api("/layers/cameras/nearest?" + near + "&radius_m=1000").then((rows) => {
      FQ.fill(camerasBox, ...(rows.length ? rows.map(FQ.cameraItem)
        : [h("li", { class: "muted" }, "1 公里内暂无视频")]));
    }).catch(() => FQ.fill(camerasBox, h("li", { class: "muted" }, "暂不可用")));
  }

  // --- start -------------------------------------------------------------------------------

  async function start() {
    $("map").dataset.state = "loading";
    makeMap();
    try {
      // Every request at once; each part is drawn as soon as what it needs has arrived.
      const grid = Promise.all([api("/grids/geojson"), api("/command/grid-stats?days=30")]);
      const points = api("/command/events.geojson");
      const panel = api("/command/situation");
      await loadGrids(grid);
      await Promise.all([panel.then(renderSituation), loadEvents(points)]);
    } catch (error) {
      $("map-status").textContent = FQ.problemText(error);
      $("map").dataset.state = "error";
      return;
    }
    $("map").dataset.state = "ready";
    performance.mark("fq-map-ready");
    await loadWorkers();
    addLayerControl();
    connect();
    setInterval(() => loadWorkers(), 30000);
    const linked = /event=(\d+)/.exec(location.hash);
    if (linked) openEvent(Number(linked[1]), true);
  }

  $("grid-colour").addEventListener("change", restyleGrids);
  $("event-card-close").addEventListener("click", () => {
    $("event-card").hidden = true;
    selected = null;
  });
  start();
})();
