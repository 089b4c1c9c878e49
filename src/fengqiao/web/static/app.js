// The home page: login, the caller's area in numbers and the grid map.
// The page itself carries no data; everything comes from /api/v1 with the bearer token kept in
// sessionStorage (gone when the tab closes). UI words come from the #fq-labels block of the page.
(function () {
  "use strict";

  const API = "/api/v1";
  const TOKEN_KEY = "fengqiao.token";
  const T = JSON.parse(document.getElementById("fq-labels").textContent);
  // One colour per town (grid code[:9]); 16 hues for Keqiao's 16 towns, none the red accent.
  const PALETTE = [
    "#3d85c6", "#6aa84f", "#e69138", "#8e7cc3", "#45818e", "#d4a017", "#c27ba0", "#0b5394",
    "#93c47d", "#b45f06", "#674ea7", "#76a5af", "#38761d", "#e07a5f", "#7f6000", "#4a86e8",
  ];

  const $ = (id) => document.getElementById(id);
  let map = null;
  let gridLayer = null;
  let pointMarker = null;
  let hoverLayer = null;
  let locateSeq = 0;

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && problem.detail) || "HTTP " + status);
      this.status = status;
      this.problem = problem;
    }
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  async function api(path, options) {
    const init = Object.assign({}, options || {});
    const headers = new Headers(init.headers || {});
    if (token() && !headers.has("Authorization")) {
      headers.set("Authorization", "Bearer " + token());
    }
    init.headers = headers;
    let response;
    try {
      response = await fetch(API + path, init);
    } catch (_err) {
      throw new ApiError(0, null);
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      throw new ApiError(response.status, body);
    }
    return body;
  }

  function messageOf(error) {
    if (error instanceof ApiError) {
      if (error.problem && error.problem.detail_zh) return error.problem.detail_zh;
      if (error.status === 0) return T.errors.network;
      return T.errors.generic + " (" + error.status + ")";
    }
    return T.errors.generic;
  }

  function esc(value) {
    return String(value == null ? "" : value).replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    })[c]);
  }

  function number(value) {
    return value == null ? "—" : Number(value).toLocaleString("zh-CN");
  }

  // --- login and logout --------------------------------------------------------------------

  function showError(message) {
    const box = $("login-error");
    box.textContent = message;
    box.hidden = !message;
  }

  async function login(event) {
    event.preventDefault();
    const username = $("username").value.trim();
    const password = $("password").value;
    if (!username || !password) {
      showError(T.errors.missing);
      return;
    }
    showError("");
    $("login-submit").disabled = true;
    try {
      const body = new URLSearchParams({ username: username, password: password });
      const result = await api("/auth/token", { method: "POST", body: body });
      sessionStorage.setItem(TOKEN_KEY, result.access_token);
      $("password").value = "";
      await openDashboard();
    } catch (error) {
      showError(messageOf(error));
    } finally {
      $("login-submit").disabled = false;
    }
  }

  function logout(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (map) {
      map.remove();
      map = null;
      gridLayer = null;
      pointMarker = null;
      hoverLayer = null;
    }
    delete $("map").dataset.state;
    $("dashboard").hidden = true;
    $("user-bar").hidden = true;
    $("summary-cards").replaceChildren();
    $("legend").replaceChildren();
    $("legend-card").hidden = true;
    $("locate-result").textContent = $("locate-result").dataset.initial;
    $("locate-result").classList.remove("is-error", "is-found");
    $("login-view").hidden = false;
    showError(typeof message === "string" ? message : "");
    $("username").focus();
  }

  // --- dashboard ---------------------------------------------------------------------------

  async function openDashboard() {
    let me;
    let summary;
    try {
      [me, summary] = await Promise.all([api("/users/me"), api("/org/summary")]);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        logout(T.errors.expired);
        return;
      }
      throw error;
    }
    renderUser(me);
    renderSummary(summary);
    $("login-view").hidden = true;
    $("dashboard").hidden = false;
    $("user-bar").hidden = false;
    await loadMap();
  }

  function renderUser(me) {
    $("user-name").textContent = me.name;
    $("user-roles").replaceChildren(
      ...me.roles.map((role) => {
        const tag = document.createElement("span");
        tag.className = "role";
        tag.textContent = T.roles[role] || role;
        return tag;
      }),
    );
    $("user-home").textContent = me.home.name;
    $("user-home").title = T.kinds[me.home.kind] || me.home.kind;
    $("scope-name").textContent = me.home.name;
  }

  function renderSummary(summary) {
    const cards = T.cards.map(([key, label]) => {
      const card = document.createElement("div");
      card.className = "stat";
      card.dataset.key = key;
      const value = document.createElement("span");
      value.className = "stat-value";
      value.textContent = number(summary[key]);
      const name = document.createElement("span");
      name.className = "stat-label";
      name.textContent = label;
      card.append(value, name);
      return card;
    });
    $("summary-cards").replaceChildren(...cards);
  }

  // --- the map -----------------------------------------------------------------------------

  function townOf(props) {
    return String(props.code).slice(0, 9);
  }

  function popupHtml(props) {
    const type = T.gridTypes[props.grid_type] || props.grid_type || "";
    const special = props.grid_type && props.grid_type !== "residential";
    return (
      '<div class="grid-popup"><strong>' + esc(props.name) + "</strong>" +
      (special ? ' <span class="tag">' + esc(T.popup.special) + "</span>" : "") +
      "<dl>" +
      "<dt>" + esc(T.popup.code) + "</dt><dd><code>" + esc(props.code) + "</code></dd>" +
      "<dt>" + esc(T.popup.households) + "</dt><dd>" + esc(number(props.households)) + "</dd>" +
      "<dt>" + esc(T.popup.population) + "</dt><dd>" + esc(number(props.population)) + "</dd>" +
      "<dt>" + esc(T.popup.type) + "</dt><dd>" + esc(type) + "</dd>" +
      "</dl></div>"
    );
  }

  function ensureMap() {
    if (map) return map;
    // No tile layer: the grids are drawn on a plain background, so the map works offline.
    map = L.map("map", { preferCanvas: false, zoomSnap: 0.25, maxZoom: 19, minZoom: 5 });
    map.attributionControl.setPrefix("Leaflet");
    map.on("click", locate);
    return map;
  }

  // The hovered grid's outline is drawn as a separate, non-interactive layer on top, so the
  // grids themselves are never re-ordered under the pointer (which loses mouseout events).
  function highlight(feature) {
    if (hoverLayer) {
      hoverLayer.remove();
      hoverLayer = null;
    }
    if (feature && map) {
      hoverLayer = L.geoJSON(feature, {
        interactive: false,
        style: { color: "#b22222", weight: 2.5, fill: false },
      }).addTo(map);
    }
  }

  async function loadMap() {
    const status = $("map-status");
    status.textContent = T.map.loading;
    $("map").dataset.state = "loading";
    ensureMap().invalidateSize();
    const geojson = await api("/grids/geojson");
    const features = geojson.features || [];
    const towns = Array.from(new Set(features.map((f) => townOf(f.properties)))).sort();
    const colour = (props) => PALETTE[towns.indexOf(townOf(props)) % PALETTE.length];
    if (gridLayer) gridLayer.remove();
    gridLayer = L.geoJSON(geojson, {
      style: (feature) => ({
        color: "#ffffff",
        weight: 0.8,
        opacity: 1,
        fillColor: colour(feature.properties),
        fillOpacity: feature.properties.grid_type === "residential" ? 0.45 : 0.75,
      }),
      onEachFeature: (feature, layer) => {
        layer.bindPopup(popupHtml(feature.properties), { maxWidth: 260 });
        layer.on("mouseover", () => highlight(feature));
        layer.on("mouseout", () => highlight(null));
      },
    }).addTo(map);
    // Opening a popup stops the click before it reaches the map, so the grids locate too.
    gridLayer.on("click", locate);
    status.textContent = features.length
      ? T.map.count.replace("{n}", number(features.length))
      : T.map.empty;
    if (features.length) {
      map.fitBounds(gridLayer.getBounds(), { padding: [16, 16] });
    } else {
      map.setView([30.07, 120.5], 10);
    }
    const hasSpecial = features.some((f) => f.properties.grid_type !== "residential");
    await renderLegend(towns, colour, hasSpecial);
    $("map").dataset.state = "ready";
  }

  // Town colours with their names (from the org tree; towns it does not name are left out, as
  // for a grid worker whose tree starts at the grid) and the darker shade of special grids.
  async function renderLegend(towns, colour, hasSpecial) {
    const names = {};
    try {
      const tree = await api("/org/tree?depth=1");
      for (const node of [tree].concat(tree.children || [])) {
        if (node.kind === "town") names[node.code] = node.name;
      }
    } catch (_err) {
      // The legend is a help, not a must: draw it without names.
    }
    const entry = (background, text, className) => {
      const item = document.createElement("li");
      if (className) item.className = className;
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = background;
      const label = document.createElement("span");
      label.textContent = text;
      item.append(swatch, label);
      return item;
    };
    const items = towns
      .filter((code) => names[code])
      .map((code) => entry(colour({ code: code }), names[code]));
    if (hasSpecial) items.push(entry(colour({ code: towns[0] }), T.legend.special, "is-special"));
    $("legend").replaceChildren(...items);
    $("legend-card").hidden = items.length === 0;
  }

  async function locate(event) {
    const lat = event.latlng.lat;
    const lng = event.latlng.lng;
    const seq = ++locateSeq;
    const out = $("locate-result");
    out.classList.remove("is-error", "is-found");
    out.textContent = T.locate.busy;
    if (pointMarker) pointMarker.setLatLng(event.latlng);
    else {
      pointMarker = L.circleMarker(event.latlng, {
        radius: 5, color: "#b22222", weight: 2, fillColor: "#ffffff", fillOpacity: 1,
        interactive: false,
      }).addTo(map);
    }
    try {
      const query = "lat=" + lat.toFixed(6) + "&lng=" + lng.toFixed(6);
      const place = await api("/grids/locate?" + query);
      if (seq !== locateSeq) return;
      out.textContent =
        T.locate.prefix + place.grid.name + " (" + place.grid.code + ") · " +
        place.village.name + " · " + place.town.name;
      out.classList.add("is-found");
    } catch (error) {
      if (seq !== locateSeq) return;
      if (error instanceof ApiError && error.status === 401) {
        logout(T.errors.expired);
        return;
      }
      out.textContent = messageOf(error);
      out.classList.add("is-error");
    }
  }

  // --- start -------------------------------------------------------------------------------

  $("locate-result").dataset.initial = $("locate-result").textContent;
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => logout());
  if (token()) {
    $("login-view").hidden = true;
    openDashboard().catch((error) => logout(messageOf(error)));
  }
})();
