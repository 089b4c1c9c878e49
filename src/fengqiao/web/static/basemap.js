// 底图: the base of every Leaflet map. FQ.basemap.add(map, options) draws the local vector base
// (the roads, rivers and lakes of the caller's area, with names, served by the API: no network
// beyond this site) under everything else, reads the tile layers an administrator set in
// 系统管理 · 底图 (天地图 vector or imagery with labels, an XYZ template, or a GCJ-02 source such
// as Amap) and offers them in a layer switcher. The map's coordinates stay WGS-84: a GCJ-02
// source's tiles are moved onto them (each tile by the offset at its corner), never the
// overlays. A tile source that fails leaves the local base showing and says so once.
(function () {
  "use strict";

  const { api, h, toast } = FQ;
  const BASE_PANE = "fqBase"; // under the tiles (200): tiles that load cover it
  const LABEL_PANE = "fqBaseLabels"; // over the grids (400), under markers (600)
  const LOCAL = "本地底图";
  const OVERLAY = "道路水系";
  const LABEL_ZOOM = { 1: 12, 2: 14 }; // rank → the zoom its names appear from
  const STYLE = {
    road: { 1: [["#c9a55a", 6], ["#ffe08a", 4]], 2: [["#a9a9a9", 4], ["#ffffff", 2.5]] },
    river: [["#5d9bd8", 4]],
  };

  // --- WGS-84 ↔ GCJ-02 (the same formulas as src/fengqiao/crs.py, which is unit-tested) --------

  const AXIS = 6378245.0;
  const EE = 0.00669342162296594323;

  function outOfChina(lng, lat) {
    return !(lng >= 72.004 && lng <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
  }

  function wgsToGcj(lng, lat) {
    if (outOfChina(lng, lat)) return [lng, lat];
    const x = lng - 105.0;
    const y = lat - 35.0;
    const wave = (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    let dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    dlat += wave + (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
    dlat += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320.0 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
    let dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    dlng += wave + (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
    dlng += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
    const radLat = lat / 180.0 * Math.PI;
    const magic = 1.0 - EE * Math.sin(radLat) ** 2;
    const sqrtMagic = Math.sqrt(magic);
    dlat = dlat * 180.0 / (AXIS * (1.0 - EE) / (magic * sqrtMagic) * Math.PI);
    dlng = dlng * 180.0 / (AXIS / sqrtMagic * Math.cos(radLat) * Math.PI);
    return [lng + dlng, lat + dlat];
  }

  // The exact inverse by fixed-point iteration (the one-step guess is off by metres).
  function gcjToWgs(lng, lat) {
    let x = lng;
    let y = lat;
    for (let i = 0; i < 20; i++) {
      const [fx, fy] = wgsToGcj(x, y);
      const dx = fx - lng;
      const dy = fy - lat;
      x -= dx;
      y -= dy;
      if (Math.abs(dx) < 1e-10 && Math.abs(dy) < 1e-10) break;
    }
    return [x, y];
  }

  // Tiles cut in GCJ-02: the tiles to load are those around the view's centre in GCJ-02, and
  // each is placed where its north-west corner really is (its GCJ-02 corner taken to WGS-84).
  // The offset changes by millimetres across a tile, so neighbours still meet.
  const GcjTileLayer = L.TileLayer.extend({
    _getTiledPixelBounds: function (center) {
      const c = L.latLng(center);
      const g = wgsToGcj(c.lng, c.lat);
      return L.TileLayer.prototype._getTiledPixelBounds.call(this, L.latLng(g[1], g[0]));
    },
    _getTilePos: function (coords) {
      const corner = this._map.unproject(coords.scaleBy(this.getTileSize()), coords.z);
      const w = gcjToWgs(corner.lng, corner.lat);
      return this._map.project(L.latLng(w[1], w[0]), coords.z).subtract(this._level.origin).round();
    },
  });

  // --- the local vector base --------------------------------------------------------------------

  // A name on the map: a bare element in the label pane, placed like a marker but not one (the
  // pages count their markers; a name is no place to click).
  const Label = L.Layer.extend({
    options: { pane: LABEL_PANE },
    initialize: function (latlng, text, className) {
      this._latlng = L.latLng(latlng);
      this._text = text;
      this._className = className;
    },
    onAdd: function (map) {
      const animated = map.options.zoomAnimation && L.Browser.any3d;
      this._el = h("div", { class: "base-label " + this._className +
        (animated ? " leaflet-zoom-animated" : " leaflet-zoom-hide") }, h("span", {}, this._text));
      this.getPane().appendChild(this._el);
      this._place();
    },
    onRemove: function () {
      this._el.remove();
    },
    getEvents: function () {
      return { zoom: this._place, viewreset: this._place, zoomanim: this._animate };
    },
    _place: function () {
      L.DomUtil.setPosition(this._el, this._map.latLngToLayerPoint(this._latlng).round());
    },
    _animate: function (event) {
      const at = this._map._latLngToNewLayerPoint(this._latlng, event.zoom, event.center);
      L.DomUtil.setPosition(this._el, at.round());
    },
  });

  function pane(map, name, zIndex) {
    const el = map.getPane(name) || map.createPane(name);
    el.style.zIndex = String(zIndex);
    el.style.pointerEvents = "none";
    return name;
  }

  // Where a line's name goes: the middle vertex of its longest part.
  function labelPoint(geometry) {
    const parts = geometry.type === "MultiLineString" ? geometry.coordinates
      : geometry.type === "LineString" ? [geometry.coordinates]
        : geometry.type === "Polygon" ? [geometry.coordinates[0]]
          : geometry.type === "MultiPolygon" ? geometry.coordinates.map((p) => p[0]) : [];
    if (!parts.length) return null;
    let longest = parts[0];
    for (const part of parts) if (part.length > longest.length) longest = part;
    if (geometry.type.endsWith("Polygon")) {
      const xs = longest.map((c) => c[0]);
      const ys = longest.map((c) => c[1]);
      return [(Math.min(...ys) + Math.max(...ys)) / 2, (Math.min(...xs) + Math.max(...xs)) / 2];
    }
    const [lng, lat] = longest[Math.floor(longest.length / 2)];
    return [lat, lng];
  }

  function drawLocal(map, geojson) {
    const lines = L.layerGroup();
    const labels = { 1: L.layerGroup(), 2: L.layerGroup() };
    const features = geojson.features || [];
    const waters = features.filter((f) => f.properties.kind !== "road");
    const roads = features.filter((f) => f.properties.kind === "road");
    // Water first, then minor roads, then arterials, each road as a casing and a fill.
    L.geoJSON({ type: "FeatureCollection", features: waters.filter((f) => f.properties.kind === "lake") }, {
      pane: BASE_PANE, interactive: false,
      style: () => ({ color: "#7fb2e5", weight: 1, fillColor: "#a9cdf0", fillOpacity: 1 }),
    }).addTo(lines);
    const strokes = (subset, layers) => {
      layers.forEach(([colour, weight]) => L.geoJSON({ type: "FeatureCollection", features: subset }, {
        pane: BASE_PANE, interactive: false,
        style: () => ({ color: colour, weight: weight, opacity: 1, lineCap: "round", lineJoin: "round" }),
      }).addTo(lines));
    };
    strokes(waters.filter((f) => f.properties.kind === "river"), STYLE.river);
    strokes(roads.filter((f) => f.properties.rank !== 1), STYLE.road[2]);
    strokes(roads.filter((f) => f.properties.rank === 1), STYLE.road[1]);
    for (const feature of features) {
      const at = labelPoint(feature.geometry);
      if (!at) continue;
      const rank = feature.properties.rank === 1 ? 1 : 2;
      const kind = feature.properties.kind;
      new Label(at, feature.properties.name, "base-label-" + kind + " base-label-rank-" + rank)
        .addTo(labels[rank]);
    }
    return { lines, labels, count: features.length };
  }

  // --- the switcher -------------------------------------------------------------------------------

  function tileGroup(base, onError) {
    const Layer = base.crs === "gcj02" ? GcjTileLayer : L.TileLayer;
    const group = L.layerGroup();
    for (const tile of base.tiles) {
      const layer = new Layer(tile.url, {
        subdomains: tile.subdomains, maxZoom: 19, maxNativeZoom: base.max_zoom,
        attribution: FQ.esc(base.attribution || ""),
      });
      layer.on("tileerror", onError);
      group.addLayer(layer);
    }
    return group;
  }

  // add(map, {control, switcher}): draws the local base at once and returns
  // {ready, attach(control)}. `ready` resolves when the base layers are known; `attach` puts the
  // bases and the 道路水系 overlay into the page's own L.control.layers. Without one, a switcher
  // of its own is added when there is more than the local base (`switcher: false`: never).
  function add(map, options) {
    options = options || {};
    pane(map, BASE_PANE, 150);
    pane(map, LABEL_PANE, 450);
    const container = map.getContainer();
    container.classList.add("has-local-base");
    const state = { bases: {}, overlay: null, labels: null, tiles: null, warned: false };
    let control = options.control || null;

    function showLabels() {
      if (!state.labels) return;
      const zoom = map.getZoom();
      // Names come from the tiles when a tile base is showing and loading; else from ours.
      const own = !state.tiles || container.dataset.basemapFailed === "true";
      for (const rank of [1, 2]) {
        const wanted = own && map.hasLayer(state.overlay) && zoom >= LABEL_ZOOM[rank];
        if (wanted && !map.hasLayer(state.labels[rank])) state.labels[rank].addTo(map);
        if (!wanted && map.hasLayer(state.labels[rank])) map.removeLayer(state.labels[rank]);
      }
    }

    function failed() {
      container.dataset.basemapFailed = "true";
      showLabels();
      if (state.warned) return;
      state.warned = true;
      toast("在线底图无法加载，已显示本地底图", "error");
    }

    function fill(target) {
      control = target;
      for (const [name, layer] of Object.entries(state.bases)) control.addBaseLayer(layer, name);
      if (state.overlay) control.addOverlay(state.overlay, OVERLAY);
    }

    const local = api("/basemap/features" + (options.org ? "?org=" + encodeURIComponent(options.org) : ""))
      .then((geojson) => {
        const drawn = drawLocal(map, geojson);
        state.overlay = drawn.lines;
        state.labels = drawn.labels;
        drawn.lines.addTo(map);
        container.dataset.localBase = String(drawn.count);
        map.on("zoomend overlayadd overlayremove", showLabels);
        showLabels();
      })
      .catch(() => { container.dataset.localBase = "0"; });
    const layers = api("/basemap/layers").catch(() => ({ bases: [], default: "local" }));

    const ready = Promise.all([local, layers]).then(([, config]) => {
      const byId = { local: L.layerGroup() };
      state.bases[LOCAL] = byId.local;
      for (const base of config.bases) {
        byId[base.id] = tileGroup(base, failed);
        state.bases[base.name] = byId[base.id];
      }
      const chosen = byId[config.default] || byId.local;
      chosen.addTo(map);
      state.tiles = chosen === byId.local ? null : chosen;
      container.dataset.basemap = config.default in byId ? config.default : "local";
      map.on("baselayerchange", (event) => {
        state.tiles = event.layer === byId.local ? null : event.layer;
        delete container.dataset.basemapFailed;
        container.dataset.basemap = Object.keys(byId).find((id) => byId[id] === event.layer) || "local";
        showLabels();
      });
      showLabels();
      if (control) fill(control);
      else if (options.switcher !== false && config.bases.length) {
        fill(L.control.layers(null, null, { collapsed: true, position: "topright" }).addTo(map));
        const toggle = control.getContainer().querySelector(".leaflet-control-layers-toggle");
        if (toggle) toggle.title = "底图";
      }
      container.dataset.basemapState = "ready";
      return state;
    });

    return {
      ready,
      attach: (target) => ready.then(() => { if (target !== control) fill(target); }),
    };
  }

  FQ.basemap = { add, wgsToGcj, gcjToWgs, GcjTileLayer };
})();
