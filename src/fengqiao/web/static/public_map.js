// 身边事 (/r/map): the public map of reports, for anyone. Reports come from
// GET /api/v1/public/reports as points (already rounded to ~50 m by the server) or, when there
// are many, as clusters with counts; markers are coloured by public status. Every text a
// resident wrote reaches the page as a text node (popups and the list are built with FQ.h), so
// markup in a description shows as what it is. The classes, the statuses and the district's
// box are embedded in the page (#pm's data-meta); the statuses' words are the `publicStatus` labels.
(function () {
  "use strict";

  const { api, h, fill, esc, label, leafletMap, number, toast } = FQ;
  const root = document.getElementById("pm");
  const meta = JSON.parse(root.dataset.meta);
  const MAX_BOX = 2; // degrees a side the API accepts
  const LIST_MAX = 100;
  const state = {
    category: "",
    statuses: new Set(),
    seq: 0,
    loaded: null, // {zoom, box (L.LatLngBounds or null: everything), key}
    points: [],
    markers: new Map(),
    ready: false,
  };

  // --- filters and legend ------------------------------------------------------------------

  const select = document.getElementById("pm-class");
  const majors = new Map();
  for (const c of meta.classes) {
    if (!majors.has(c.major)) majors.set(c.major, { name: c.major_name, items: [] });
    majors.get(c.major).items.push(c);
  }
  for (const [code, group] of majors) {
    select.append(h("optgroup", { label: group.name },
      h("option", { value: code }, "全部" + group.name),
      group.items.map((c) => h("option", { value: c.code }, c.name))));
  }
  select.addEventListener("change", () => {
    state.category = select.value;
    reload();
  });

  const chips = document.getElementById("pm-status");
  for (const key of meta.statuses) {
    chips.append(h("button", {
      type: "button", class: "pm-chip pm-s-" + key, "aria-pressed": "false",
      dataset: { status: key }, onclick: (e) => toggle(e.currentTarget),
    }, h("span", { class: "pm-dot", "aria-hidden": "true" }), label("publicStatus", key)));
  }

  function toggle(chip) {
    const key = chip.dataset.status;
    if (state.statuses.has(key)) state.statuses.delete(key);
    else state.statuses.add(key);
    chip.setAttribute("aria-pressed", String(state.statuses.has(key)));
    reload();
  }

  fill(document.getElementById("pm-legend"),
    meta.statuses.map((key) => h("span", { class: "pm-legend-item pm-s-" + key },
      h("span", { class: "pm-dot", "aria-hidden": "true" }), label("publicStatus", key))),
    h("span", { class: "pm-legend-item" },
      h("span", { class: "pm-legend-cluster", "aria-hidden": "true" }, "12"), "该处上报件数，圈色为多数上报的状态（点击放大）"));
  document.getElementById("pm-days").textContent = String(meta.days);

  // --- the map -----------------------------------------------------------------------------

  const map = leafletMap("pm-map", { minZoom: 8, maxZoom: 18 });
  // Town names under the markers (a tooltip's own pane is above them).
  map.createPane("pmLabels").style.zIndex = 450;
  const areas = meta.areas && meta.areas.features.length ? L.geoJSON(meta.areas, {
    interactive: false,
    // Filled when they are the only ground; with a base map under them, outlines only.
    style: { className: "pm-area", weight: 1.5, fillOpacity: root.dataset.basemap === "true" ? 0 : 1 },
    onEachFeature: (feature, area) => area.bindTooltip(esc(feature.properties.name), {
      permanent: true, direction: "center", className: "pm-area-label", interactive: false,
      pane: "pmLabels",
    }),
  }) : null;
  // Open on the towns there are (a demo district may hold fewer than its box), else the box.
  if (areas && areas.getBounds().isValid()) {
    map.fitBounds(areas.getBounds());
  } else if (meta.bounds) {
    const [west, south, east, north] = meta.bounds;
    map.fitBounds([[south, west], [north, east]]);
  } else {
    map.setView([30.08, 120.49], 12);
  }
  if (root.dataset.basemap === "true" && FQ.basemap) FQ.basemap.add(map, {});
  // The towns' outlines and names: the ground under the reports when no base map is drawn.
  if (areas) areas.addTo(map);
  const layer = L.layerGroup().addTo(map);

  function boxParam(bounds) {
    const round = (v) => Math.round(v * 10000) / 10000;
    const west = Math.max(-180, round(bounds.getWest()));
    const east = Math.min(180, round(bounds.getEast()));
    const south = Math.max(-90, round(bounds.getSouth()));
    const north = Math.min(90, round(bounds.getNorth()));
    if (east - west > MAX_BOX || north - south > MAX_BOX || west >= east || south >= north) return null;
    return [west, south, east, north].join(",");
  }

  function filterKey() {
    return state.category + "|" + [...state.statuses].sort().join(",");
  }

  // Reload when the zoom or the filters changed, or the view left the box last loaded.
  function needsLoad() {
    const loaded = state.loaded;
    if (!loaded || loaded.zoom !== map.getZoom() || loaded.key !== filterKey()) return true;
    return loaded.box !== null && !loaded.box.contains(map.getBounds());
  }

  async function reload(first) {
    const seq = ++state.seq;
    const zoom = map.getZoom();
    const params = new URLSearchParams({ zoom: String(Math.round(zoom)) });
    if (state.category) params.set("category", state.category);
    if (state.statuses.size) params.set("status", [...state.statuses].sort().join(","));
    let box = null;
    if (!first) {
      const padded = map.getBounds().pad(0.5);
      const text = boxParam(padded);
      if (text) {
        params.set("bbox", text);
        box = padded;
      }
    }
    const loading = document.getElementById("pm-loading");
    loading.hidden = false;
    let collection;
    try {
      collection = await api("/public/reports?" + params.toString());
    } catch (_err) {
      if (seq === state.seq) {
        loading.hidden = true;
        toast("身边事加载失败，请稍后重试", "error");
      }
      return;
    }
    if (seq !== state.seq) return; // a newer request is on its way
    loading.hidden = true;
    state.loaded = { zoom, box, key: filterKey() };
    draw(collection);
    if (!state.ready) {
      state.ready = true;
      requestAnimationFrame(() => {
        performance.mark("fq-pubmap-ready");
        root.dataset.ready = "true";
      });
    }
  }

  function badge(status) {
    return h("span", { class: "pm-badge pm-s-" + status }, label("publicStatus", status));
  }

  function card(p) {
    return h("div", { class: "pm-card" },
      h("div", { class: "pm-card-head" }, badge(p.status), h("span", { class: "pm-card-class" }, p.category_name)),
      h("p", { class: "pm-card-text" }, p.text || "（未填写描述）"),
      h("div", { class: "pm-card-meta" }, "上报于 " + p.date, p.place ? " · " + p.place : ""));
  }

  // The status most of a cluster's reports are in: its ring's colour.
  function dominant(statuses) {
    let best = "submitted";
    for (const key of meta.statuses) if ((statuses[key] || 0) > (statuses[best] || 0)) best = key;
    return best;
  }

  function clusterSize(count) {
    return count < 10 ? 32 : count < 100 ? 38 : count < 1000 ? 46 : 54;
  }

  function draw(collection) {
    layer.clearLayers();
    state.markers.clear();
    state.points = [];
    state.total = collection.total;
    state.clustered = collection.clustered;
    for (const feature of collection.features) {
      const [lng, lat] = feature.geometry.coordinates;
      const p = feature.properties;
      if (p.cluster) {
        const size = clusterSize(p.count);
        const marker = L.marker([lat, lng], {
          icon: L.divIcon({
            className: "pm-cluster pm-s-" + dominant(p.statuses), html: esc(number(p.count)), iconSize: [size, size],
          }),
          title: number(p.count) + " 件上报，点击放大",
        });
        marker.on("click", () => map.setView([lat, lng], Math.min(map.getZoom() + 2, map.getMaxZoom())));
        marker.addTo(layer);
        continue;
      }
      const marker = L.circleMarker([lat, lng], {
        radius: 9, weight: 2, fillOpacity: 0.9, className: "pm-marker pm-s-" + p.status,
      });
      marker.bindPopup(() => card(p), { maxWidth: 280, minWidth: 200 });
      marker.addTo(layer);
      state.markers.set(p.ref, marker);
      state.points.push({ lat, lng, p });
    }
    list();
  }

  // --- the list under the map (what a small screen reads) -----------------------------------

  function list() {
    const bounds = map.getBounds();
    const inView = state.points.filter((x) => bounds.contains([x.lat, x.lng]));
    const hint = document.getElementById("pm-hint");
    document.getElementById("pm-count").textContent = "共 " + number(state.total || 0) + " 件";
    if (state.clustered) {
      hint.hidden = false;
      hint.textContent = "上报较多，地图上已按区域汇总件数；放大地图可查看每一件。";
    } else if (!state.total) {
      hint.hidden = false;
      hint.textContent = "这里暂时没有符合条件的上报。";
    } else {
      hint.hidden = true;
    }
    const shown = inView.slice(0, LIST_MAX);
    fill(document.getElementById("pm-list"), shown.map((x) => h("li", {},
      h("button", { type: "button", class: "pm-item", dataset: { ref: x.p.ref }, onclick: () => focus(x) },
        h("span", { class: "pm-item-head" }, badge(x.p.status), h("span", { class: "pm-item-class" }, x.p.category_name),
          h("span", { class: "pm-item-date" }, x.p.date)),
        h("span", { class: "pm-item-text" }, x.p.text || "（未填写描述）"),
        x.p.place ? h("span", { class: "pm-item-place" }, x.p.place) : null))),
    inView.length > shown.length ? h("li", { class: "r-muted pm-more" },
      "还有 " + number(inView.length - shown.length) + " 件，放大地图查看") : null);
  }

  function focus(x) {
    const marker = state.markers.get(x.p.ref);
    map.getContainer().scrollIntoView({ behavior: "smooth", block: "center" });
    if (marker) marker.openPopup();
  }

  map.on("moveend", () => {
    if (needsLoad()) reload();
    else list();
  });
  reload(true);
})();
