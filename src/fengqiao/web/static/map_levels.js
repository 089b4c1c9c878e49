// 一张图's levels of detail for a city's or province's command room (a province holds 85,000
// grids): the outlines of its cities or districts, each with one badge counting its open events
// instead of every event as a point; a province's district outlines once zoomed in or a city is
// picked; and, close in, the box in view, for which map.js loads the grids and events.
(function () {
  "use strict";

  const { api, h, number } = FQ;
  const CHILD = { province: "city", city: "district" };
  const KIND_ZH = { city: "市", district: "区县" };
  const STYLE = {
    city: { color: "#283593", weight: 2.5, opacity: 0.9, fillColor: "#3949ab", fillOpacity: 0.05 },
    district: { color: "#5c6bc0", weight: 1.2, opacity: 0.9, fillColor: "#7986cb", fillOpacity: 0.04,
      dashArray: "4 3" },
  };
  // Past the first view (the whole area), a province's map adds the districts from DISTRICT_ZOOM
  // or when a city is picked, and reads the grids and events of the box in view from GRID_ZOOM.
  const DISTRICT_ZOOM = 9;
  const GRID_ZOOM = 12;
  const SNAP = 0.05; // degrees: boxes snap outward, so small pans ask the same (cached) box

  function snapped(bounds) {
    const down = (v) => (Math.floor(v / SNAP) * SNAP).toFixed(2);
    const up = (v) => (Math.ceil(v / SNAP) * SNAP).toFixed(2);
    return [down(Math.max(-180, bounds.getWest())), down(Math.max(-90, bounds.getSouth())),
      up(Math.min(180, bounds.getEast())), up(Math.min(90, bounds.getNorth()))].join(",");
  }

  function boxBounds(box) {
    return L.latLngBounds([box[1], box[0]], [box[3], box[2]]);
  }

  // map: the Leaflet map; homeKind: "province" or "city"; opts.onView(box or null) when the
  // view changes (a box once close in); opts.status(text) while zoomed out.
  FQ.mapLevels = function (map, homeKind, opts) {
    const top = CHILD[homeKind];
    // Below the grids (overlay pane, 400); close in its outlines let clicks through to them.
    const pane = map.createPane("areas");
    pane.style.zIndex = "350";
    const renderer = L.svg({ padding: 0.2, pane: "areas" });
    // The count badges above every marker (markers 600, tooltips 650): an area's number is never
    // hidden under a cluster of workers or points.
    map.createPane("areaCounts").style.zIndex = "640";
    const outlines = L.layerGroup().addTo(map);
    const badges = L.layerGroup().addTo(map);
    const loaded = {}; // kind → promise of { layer, features }
    let counted = null; // the kind whose badges are drawn (null: close in, none)
    let counts = {};
    let first = 0; // the zoom of the first view
    let picked = false; // a city was picked: its districts show at any zoom

    function zoomTo(feature) {
      if (feature.properties.kind === "city") picked = true;
      map.fitBounds(boxBounds(feature.bbox));
      update().catch(() => {});
    }

    function load(kind) {
      if (!loaded[kind]) {
        loaded[kind] = api("/map/areas?kind=" + kind).then((geojson) => {
          const layer = L.geoJSON(geojson, {
            renderer: renderer, pane: "areas", style: STYLE[kind],
            onEachFeature: (feature, shape) => {
              const p = feature.properties;
              shape.bindTooltip(() => h("span", { class: "area-tip" }, p.name), { sticky: true });
              shape.on("click", () => zoomTo(feature));
            },
          });
          return { layer: layer, features: geojson.features || [] };
        }).catch((error) => { delete loaded[kind]; throw error; });
      }
      return loaded[kind];
    }

    function badge(feature, c) {
      const p = feature.properties;
      const tip = p.name + "：在办 " + number(c.open) + " 件，超期 " + number(c.red) + " 件，临期 " +
        number(c.yellow) + " 件";
      const node = h("span", { class: "area-count" + (c.red ? " has-red" : c.yellow ? " has-yellow" : ""),
        title: tip }, h("span", { class: "area-name" }, p.name), h("b", {}, number(c.open)));
      const centre = boxBounds(feature.bbox).getCenter();
      return L.marker(centre, { icon: L.divIcon({ className: "area-count-icon", html: node,
        iconSize: null }), keyboard: false, title: tip, pane: "areaCounts" })
        .on("click", () => zoomTo(feature));
    }

    async function drawCounts() {
      badges.clearLayers();
      if (!counted) return;
      const kind = counted;
      const [{ features }, stats] = await Promise.all([load(kind),
        api("/command/area-stats?days=30&kind=" + kind)]);
      if (kind !== counted) return;
      counts = stats.areas || {};
      badges.clearLayers();
      const zero = { open: 0, red: 0, yellow: 0, recent: 0 };
      for (const f of features) badges.addLayer(badge(f, counts[f.properties.id] || zero));
      map.getContainer().dataset.areaCounts = kind + ":" + features.length;
      const open = Object.values(counts).reduce((sum, c) => sum + c.open, 0);
      opts.status("共 " + number(features.length) + " 个" + KIND_ZH[kind] + " · 在办 " + number(open) +
        " 件 · 放大地图查看网格和事件");
    }

    // Each change of view is numbered: outlines still loading for a view left meanwhile (zoomed in,
    // then straight out) must not replace the newer view's, nor ask for the old view's box.
    const views = FQ.latest();

    async function update() {
      const current = views();
      const zoom = map.getZoom();
      if (zoom < first) picked = false;
      const closer = zoom > first;
      const close = closer && zoom >= GRID_ZOOM;
      const kinds = [top];
      if (homeKind === "province" && ((closer && zoom >= DISTRICT_ZOOM) || picked)) {
        kinds.push("district");
      }
      const shown = await Promise.all(kinds.map(load));
      if (!current()) return;
      outlines.clearLayers();
      for (const { layer } of shown) outlines.addLayer(layer);
      map.getContainer().dataset.outlines = kinds.join(",");
      pane.classList.toggle("is-passive", close);
      if (close) outlines.eachLayer((layer) => layer.eachLayer((shape) => shape.closeTooltip()));
      const next = close ? null : kinds[kinds.length - 1];
      if (next !== counted) {
        counted = next;
        await drawCounts();
      }
      if (current()) opts.onView(close ? snapped(map.getBounds()) : null);
    }

    return {
      outlines: outlines,
      badges: badges,
      // Draw the top outlines and fit the map to them; then follow the view.
      start: async function () {
        const { layer, features } = await load(top);
        if (features.length) map.fitBounds(layer.getBounds(), { padding: [16, 16] });
        else map.setView([30.07, 120.5], 8);
        first = map.getZoom();
        await update();
        map.on("moveend", () => update().catch((error) => opts.status(FQ.problemText(error))));
      },
      // The events changed: the badges count again.
      refresh: () => drawCounts().catch(() => {}),
    };
  };

  FQ.mapLevels.GRID_ZOOM = GRID_ZOOM;
})();
