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
  // A city's or province's room starts from outlines and loads the grids and events of the box
  // in view once close in (map_levels.js); a district's loads all of its grids at once.
  const WIDE = ["province", "city"].includes(root.dataset.homeKind);
  const PALETTE = [
    "#3d85c6", "#6aa84f", "#e69138", "#8e7cc3", "#45818e", "#d4a017", "#c27ba0", "#0b5394",
    "#93c47d", "#b45f06", "#674ea7", "#76a5af", "#38761d", "#e07a5f", "#7f6000", "#4a86e8",
  ];
  const LIGHT_FILL = { red: "#d93025", yellow: "#f2a600", green: "#34a853", none: "#9aa0a6" };
  const DENSITY = ["#fff5eb", "#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603"];
  // Point layers have colours of their own, never the red/yellow/green of events' lights; their
  // clusters are squares in the layer's colour (events' clusters are round).
  const POINT_LAYERS = [
    ["hospital", "医院", "#ad1457", "医"],
    ["school", "学校", "#3949ab", "学"],
    ["emergency_resource", "应急资源", "#6d4c41", "应"],
    ["enterprise", "企业", "#455a64", "企"],
    ["camera", "视频监控", "#00838f", "摄"],
    ["iot_device", "物联设备", "#0277bd", "感"],
  ];
  const WORKER_COLOURS = { patrol: "#1a73e8", idle: "#5f6368" };

  let map = null;
  let base = null;
  let grids = null; // one group for the session: a wide map swaps the grids of each box in it
  let gridLayer = null;
  let gridFeatures = [];
  let levels = null;
  let viewBox = null; // wide and close in: the box in view (grids, events and counts of it)
  let stats = { grids: {} };
  let eventLayer = null;
  let workerLayer = null;
  let trackLayer = null;
  let selected = null;
  const pointLayers = {};

  // --- map and layers -----------------------------------------------------------------------

  function makeMap() {
    map = FQ.leafletMap("map", { zoomSnap: 0.25, maxZoom: 19, minZoom: 5 });
    // The base (static/basemap.js): the local roads and rivers, and the tiles set in 系统管理.
    base = FQ.basemap.add(map, { switcher: false });
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
    if (!grids) grids = L.featureGroup().addTo(map);
    grids.clearLayers();
    gridLayer = L.geoJSON(geojson, {
      renderer: renderer,
      style: gridStyle($("grid-colour").value),
      onEachFeature: (feature, layer) => layer.bindPopup(() => gridPopup(feature.properties)),
    }).addTo(grids);
    root.dataset.grids = String(gridFeatures.length);
    if (WIDE) {
      $("map-status").textContent = "视野内 " + number(gridFeatures.length) + " 个网格";
    } else {
      if (gridFeatures.length) map.fitBounds(grids.getBounds(), { padding: [16, 16] });
      else map.setView([30.07, 120.5], 10);
      $("map-status").textContent = gridFeatures.length
        ? "共 " + number(gridFeatures.length) + " 个网格" : "辖区内暂无网格";
    }
    renderLegend();
  }

  function restyleGrids() {
    if (gridLayer) gridLayer.setStyle(gridStyle($("grid-colour").value));
    renderLegend();
  }

  // A wide map's view moved: close in, the grids, counts and events of the box; zoomed out, none
  // of them (the outlines' badges count instead).
  async function onView(box) {
    if (box === viewBox) return;
    viewBox = box;
    if (!box) {
      if (grids) grids.clearLayers();
      gridFeatures = [];
      root.dataset.grids = "0";
      if (eventLayer) eventLayer.clearLayers();
      root.dataset.events = "0";
      return;
    }
    try {
      const data = await Promise.all([api("/grids/geojson?bbox=" + box),
        api("/command/grid-stats?days=30&bbox=" + box)]);
      if (viewBox !== box) return;
      await loadGrids(Promise.resolve(data));
      await loadEvents();
    } catch (error) {
      if (viewBox === box) $("map-status").textContent = FQ.problemText(error);
    }
  }

  function boxQuery(sep) {
    return viewBox ? sep + "bbox=" + viewBox : "";
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
    const wanted = viewBox;
    const geojson = WIDE && !viewBox ? { features: [] }
      : await (pending || api("/command/events.geojson" + boxQuery("?")));
    if (WIDE && wanted !== viewBox) return;
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
    // A district has hundreds of workers on duty: they cluster until the map is close in.
    const layer = workerLayer || workerCluster();
    layer.clearLayers();
    layer.addLayers((geojson.features || []).map((f) => {
      const [lng, lat] = f.geometry.coordinates;
      const p = f.properties;
      return L.marker([lat, lng], {
        icon: L.divIcon({ className: "worker-icon" + (p.on_patrol ? " on-patrol" : ""),
          html: h("span", {}, "员"), iconSize: [22, 22] }),
        title: p.name, onPatrol: Boolean(p.on_patrol),
      }).bindPopup(() => h("div", { class: "worker-popup" },
        h("strong", {}, p.name), h("br"), "网格 ", p.grid || "—", h("br"),
        "定位 ", short(p.at), p.accuracy ? " · ±" + Math.round(p.accuracy) + " 米" : "",
        p.phone || FQ.call ? h("div", {},
          p.phone ? h("a", { class: "btn btn-small", href: "tel:" + p.phone }, "呼叫 " + p.phone) : null,
          FQ.call ? FQ.call.button({ id: f.id, name: p.name }) : null) : null,
      ));
    }));
    workerLayer = layer;
    root.dataset.workers = String((geojson.features || []).length);
  }

  function workerCluster() {
    return L.markerClusterGroup({
      chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 50,
      disableClusteringAtZoom: 16,
      iconCreateFunction: (cluster) => {
        const children = cluster.getAllChildMarkers();
        const patrolling = children.filter((m) => m.options.onPatrol).length;
        return L.divIcon({
          className: "worker-cluster",
          html: h("span", { title: children.length + " 名网格员，其中 " + patrolling + " 名正在巡查" },
            "员", h("b", {}, String(children.length))),
          iconSize: [40, 26],
        });
      },
    });
  }

  function pointCluster(kind, label, colour, glyph) {
    return L.markerClusterGroup({
      chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 60,
      disableClusteringAtZoom: 17,
      iconCreateFunction: (cluster) => L.divIcon({
        className: "poi-cluster poi-cluster-" + kind,
        html: h("span", { style: { background: colour }, title: label },
          glyph, h("b", {}, String(cluster.getChildCount()))),
        iconSize: [40, 24],
      }),
    });
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
    const group = pointCluster(kind, label, colour, glyph);
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
      // A camera plays in the page (播放) instead of a stream link no browser opens.
      stream && !camera ? h("div", {}, h("a", { href: stream, target: "_blank", rel: "noopener" }, "查看视频流")) : null,
      camera && FQ.video ? h("div", {}, h("button", { type: "button", class: "btn btn-small play",
        onclick: () => playCamera(p.code) }, "播放")) : null);
  }

  // 播放 in a camera's popup: the registry's record says where it plays (video.js).
  async function playCamera(code) {
    try {
      FQ.video.play(await api("/cameras/" + encodeURIComponent(code)));
    } catch (error) {
      toast("视频：" + FQ.problemText(error), "error");
    }
  }

  let layers = null;

  function addLayerControl() {
    const overlays = {
      "网格": grids,
      ...(levels ? { "区划轮廓": levels.outlines, "区域事件数": levels.badges } : {}),
      "事件（按红黄绿灯）": eventLayer,
      "网格员实时位置": workerLayer || workerCluster(),
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
    base.attach(layers);
  }

  // Every glyph the map can show, drawn the way the map draws it.
  function renderLegend() {
    const mode = $("grid-colour").value;
    const entry = (colour, text, cls) => h("li", { class: cls || "" },
      h("span", { class: "swatch", style: { background: colour } }), h("span", {}, text));
    const glyph = (node, text) => h("li", { class: "glyph" }, node, h("span", {}, text));
    const group = (text) => h("li", { class: "legend-group" }, text);
    const items = WIDE ? [group("区划"),
      glyph(h("span", { class: "legend-line is-area" }), "市界、区县界"),
      glyph(h("span", { class: "area-count" }, h("b", {}, "12")), "区域在办事件数"),
      group("网格")] : [group("网格")];
    if (mode === "light") {
      items.push(entry(LIGHT_FILL.red, "有超期事件"), entry(LIGHT_FILL.yellow, "有临期事件"),
        entry(LIGHT_FILL.green, "在办均正常"), entry("#dfe3e8", "无在办事件"));
    } else if (mode === "density") {
      items.push(entry(DENSITY[0], "事件较少"), entry(DENSITY[5], "事件较多（近30天）"));
    } else {
      items.push(entry(PALETTE[0], "每个镇街一种颜色"));
    }
    items.push(group("事件"),
      entry(LIGHT_FILL.red, "红灯：已超期", "dot"), entry(LIGHT_FILL.yellow, "黄灯：临近期限", "dot"),
      entry(LIGHT_FILL.green, "绿灯：期限内", "dot"),
      glyph(h("span", { class: "ev-dot light-red is-urgent legend-pulse" }), "紧急事件（闪烁）"),
      glyph(h("span", { class: "ev-cluster legend-cluster" }, h("span", {}, "12")), "多个事件（数字为件数）"),
      glyph(h("span", { class: "ev-cluster has-red legend-cluster" }, h("span", {}, "12")), "其中有超期事件"),
      group("人员"),
      glyph(h("span", { class: "worker-icon on-patrol" }, h("span", {}, "员")), "网格员（巡查中）"),
      glyph(h("span", { class: "worker-icon" }, h("span", {}, "员")), "网格员（在岗未巡查）"),
      glyph(h("span", { class: "worker-cluster" }, h("span", {}, "员", h("b", {}, "8"))), "多名网格员"),
      glyph(h("span", { class: "legend-line" }), "今日巡查轨迹"),
      group("点位（图层中打开）"),
      ...POINT_LAYERS.filter(([kind]) => kind !== "camera").map(([kind, label, colour, g]) =>
        glyph(h("span", { class: "poi-icon" }, h("span", { style: { background: colour } }, g)), label)),
      ...Object.entries(FQ.CAMERA_STATUS).map(([status, word]) =>
        glyph(h("span", { class: "poi-icon" }, h("span", { style: { background: FQ.CAMERA_COLOURS[status] } }, "摄")),
          "视频监控 · " + word)),
      glyph(h("span", { class: "poi-cluster" }, h("span", { style: { background: POINT_LAYERS[0][2] } }, "医", h("b", {}, "5"))),
        "同类点位聚合（方块）"));
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

  // Alarms this page has announced, or found waiting when it opened: each new one gets its toast
  // once, even when the panel listed it before its own frame arrived.
  const announced = new Set();

  function onAlarm(alarm) {
    if (!alarms.some((a) => a.id === alarm.id)) renderAlarms([alarm].concat(alarms));
    if (announced.has(alarm.id)) return;
    announced.add(alarm.id);
    toast("紧急报警：" + alarm.title + "（" + alarm.town + "）", "alarm");
    const ping = L.circleMarker([alarm.lat, alarm.lng], { radius: 14, color: "#d93025",
      weight: 3, fillOpacity: 0.2, className: "alarm-ping" }).addTo(map);
    setTimeout(() => ping.remove(), 60000);
    loadEvents().catch(() => {});
  }

  // The browser's one live stream, shared with every other tab (live.js).
  function connect() {
    FQ.live.on("state", (live) => $("live-state").classList.toggle("is-live", live));
    FQ.live.on("alarm", (alarm) => onAlarm(alarm));
    FQ.live.on("situation", (situation) => {
      renderSituation(situation);
      refreshStats();
    });
  }

  let statsTimer = null;

  function refreshStats() {
    clearTimeout(statsTimer);
    statsTimer = setTimeout(async () => {
      try {
        if (levels) levels.refresh();
        if (WIDE && !viewBox) return;
        const box = viewBox;
        const fresh = await api("/command/grid-stats?days=30" + boxQuery("&"));
        if (box !== viewBox) return; // the view moved meanwhile: onView counts the new box
        stats = fresh;
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
      if (selected !== id) return;
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
      h("img", { src: a.url, alt: FQ.label("photoKinds", a.kind), loading: "lazy" })));
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
      cardActions(event),
      h("h4", {}, "最近流转"), h("ol", { class: "timeline compact" }, trail),
      h("h4", {}, "附近在岗网格员"), workersBox,
      h("h4", {}, "附近视频"), camerasBox,
      h("p", {}, h("a", { class: "btn btn-primary", href: "/events/" + event.id }, "详情与处置")),
    ].filter(Boolean));
    api("/positions/nearest?" + near).then((rows) => {
      FQ.fill(workersBox, ...(rows.length ? rows.map((w) => h("li", {},
        h("strong", {}, w.name), " ", h("span", { class: "muted" }, Math.round(w.distance_m) + " 米 · " + short(w.at)),
        w.tel ? h("a", { class: "btn btn-small call", href: w.tel }, "一键呼叫") : null,
        FQ.call ? FQ.call.button({ id: w.user_id, name: w.name }, event.id) : null))
        : [h("li", { class: "muted" }, "附近暂无在岗网格员")]));
    }).catch(() => FQ.fill(workersBox, h("li", { class: "muted" }, "暂不可用")));
    api("/layers/cameras/nearest?" + near + "&radius_m=1000").then((rows) => {
      FQ.fill(camerasBox, ...(rows.length ? rows.map(FQ.cameraItem)
        : [h("li", { class: "muted" }, "1 公里内暂无视频")]));
      if (FQ.video && rows.length) camerasBox.before(FQ.video.playAllButton(rows));
    }).catch(() => FQ.fill(camerasBox, h("li", { class: "muted" }, "暂不可用")));
  }

  // --- taking the event on from the card ---------------------------------------------------

  let units = null; // active units, read once when a card first offers 交办

  function loadUnits() {
    if (!units) {
      units = api("/units?size=500").then((p) => p.items.filter((u) => u.active))
        .catch((error) => { units = null; throw error; });
    }
    return units;
  }

  // 受理, 交办 and 受理并交办 without leaving the map: one request each (受理并交办 is one chain
  // of two steps, stored together or not at all).
  function cardActions(event) {
    const canAccept = event.actions.includes("accept");
    const canDispatch = event.actions.includes("dispatch");
    if (!canAccept && !canDispatch) return null;
    const proposed = event.proposed_unit;
    const select = h("select", { name: "unit_id", id: "card-unit" },
      proposed ? h("option", { value: proposed.id }, proposed.name + "（系统建议）")
        : h("option", { value: "" }, "请选择责任单位"));
    const noteBox = h("input", { type: "text", name: "note", maxlength: 2000, id: "card-note",
      placeholder: proposed ? "改派其他单位时须说明理由" : "说明（选填）" });
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    const form = h("form", { class: "card-actions", id: "card-actions", novalidate: true },
      h("h4", {}, "受理交办"),
      h("label", { class: "field" }, "责任单位", select),
      h("label", { class: "field" }, "说明", noteBox),
      error,
      h("div", { class: "buttons" },
        canAccept ? h("button", { type: "button", class: "btn btn-secondary", dataset: { step: "accept" } }, "受理") : null,
        canAccept ? h("button", { type: "button", class: "btn btn-primary", dataset: { step: "accept,dispatch" } }, "受理并交办") : null,
        canDispatch ? h("button", { type: "button", class: "btn btn-primary", dataset: { step: "dispatch" } }, "交办") : null));
    loadUnits().then((list) => {
      for (const u of list) {
        if (proposed && u.id === proposed.id) continue;
        select.append(h("option", { value: u.id }, u.name));
      }
    }).catch(() => {});
    form.addEventListener("submit", (e) => e.preventDefault());
    for (const button of form.querySelectorAll("button[data-step]")) {
      button.addEventListener("click", () => takeSteps(event, form, button.dataset.step.split(",")));
    }
    return form;
  }

  async function takeSteps(event, form, actions) {
    FQ.clearErrors(form);
    const unit = form.querySelector("#card-unit").value;
    const note = form.querySelector("#card-note").value.trim();
    const steps = actions.map((action) => {
      const step = { action: action };
      if (action === "dispatch") {
        if (unit && !(event.proposed_unit && Number(unit) === event.proposed_unit.id)) step.unit_id = Number(unit);
        if (note) step.note = note;
      }
      return step;
    });
    if (actions.includes("dispatch") && !unit) {
      FQ.showErrors(form, new FQ.ApiError(422, { detail_zh: "请选择责任单位",
        errors: [{ field: "unit_id", reason_zh: "请选择责任单位" }] }));
      return;
    }
    for (const b of form.querySelectorAll("button")) b.disabled = true;
    try {
      const path = "/events/" + event.id + "/transitions" + (steps.length > 1 ? "/chain" : "");
      const body = steps.length > 1 ? { version: event.version, steps: steps }
        : Object.assign({ version: event.version }, steps[0]);
      await api(path, { method: "POST", json: body });
      toast(actions.map((a) => T.actions[a] || a).join("并") + "成功", "ok");
      await openEvent(event.id);
      loadEvents().catch(() => {});
    } catch (error) {
      for (const b of form.querySelectorAll("button")) b.disabled = false;
      FQ.showErrors(form, error);
      if (error instanceof FQ.ApiError && error.status === 409) {
        // Someone else took it on meanwhile: show what it is now, with the reason.
        await openEvent(event.id);
        toast(FQ.problemText(error), "error");
      }
    }
  }

  // --- start -------------------------------------------------------------------------------

  async function start() {
    $("map").dataset.state = "loading";
    makeMap();
    // The one search box: a pick flies there; an event's opens its card too.
    FQ.placeSearch($("place-search"), {
      map: map, onPick: (item) => { if (item.kind === "event") openEvent(item.id, false); },
    });
    try {
      // Every request at once; each part is drawn as soon as what it needs has arrived.
      const grid = WIDE ? null
        : Promise.all([api("/grids/geojson"), api("/command/grid-stats?days=30")]);
      const points = WIDE ? null : api("/command/events.geojson");
      const panel = api("/command/situation");
      if (WIDE) {
        grids = L.featureGroup().addTo(map);
        levels = FQ.mapLevels(map, root.dataset.homeKind, {
          onView: onView, status: (text) => { $("map-status").textContent = text; },
        });
        await levels.start();
        renderLegend();
      } else {
        await loadGrids(grid);
      }
      const opened = panel.then((s) => {
        for (const a of s.alarms) announced.add(a.id);
        renderSituation(s);
      });
      await Promise.all([opened, loadEvents(points)]);
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
    // Listened for in the same step as the first read: a link followed while the map is open
    // (the alarm dialog's 在地图上定位, a pasted link) changes only the hash and reloads nothing.
    window.addEventListener("hashchange", followHash);
    followHash();
  }

  // /map#event=ID opens that event's card (unless it is the one shown); #at= or #bbox= flies
  // to a place (placesearch.js).
  function followHash() {
    const linked = /event=(\d+)/.exec(location.hash);
    if (!linked) FQ.placeSearch.focusFromHash(map);
    else if (Number(linked[1]) !== selected) openEvent(Number(linked[1]), true);
  }

  $("grid-colour").addEventListener("change", restyleGrids);
  $("event-card-close").addEventListener("click", () => {
    $("event-card").hidden = true;
    selected = null;
  });
  start();
})();
