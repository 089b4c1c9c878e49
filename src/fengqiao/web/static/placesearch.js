// The one search box (GET /api/v1/search): towns, villages and grids, places, units, cameras and
// events, with suggestions grouped by kind as one types. FQ.placeSearch(input, {map, onPick})
// wires a box: on a map, picking a suggestion flies there and marks it; without one, onPick
// decides (an input with data-place-search="page" opens the event, or the map at the place).
(function () {
  "use strict";

  const { api, h } = FQ;
  const DELAY_MS = 150;
  const MAX_CHARS = 64;
  const PLACE_ZOOM = 17;

  function bounds(item) {
    const b = item.bbox;
    return b ? L.latLngBounds([b[1], b[0]], [b[3], b[2]]) : null;
  }

  // Fly the map to a picked item and leave a marker there, named (as text, never HTML).
  function flyTo(map, item, state) {
    if (state.marker) state.marker.remove();
    const box = bounds(item);
    if (box && box.isValid()) map.flyToBounds(box, { padding: [24, 24], maxZoom: 17, duration: 0.6 });
    else if (item.lat != null) map.flyTo([item.lat, item.lng], PLACE_ZOOM, { duration: 0.6 });
    if (item.lat == null) return;
    const label = h("span", {}, item.name);
    state.marker = L.circleMarker([item.lat, item.lng], {
      radius: 9, color: "#b22222", weight: 3, fillColor: "#ffffff", fillOpacity: 0.9,
      className: "place-search-mark",
    }).bindTooltip(label, { permanent: true, direction: "top", offset: [0, -8] }).addTo(map);
  }

  // Where a page without a map sends a pick: an event to its page, the rest to the map there.
  function openPage(item) {
    if (item.kind === "event") {
      location.assign("/events/" + item.id);
      return;
    }
    const b = item.bbox;
    const at = b ? "bbox=" + b.join(",") : "at=" + item.lat + "," + item.lng;
    location.assign("/map#" + at + "&name=" + encodeURIComponent(item.name));
  }

  // The map opened at a place (/map#at=lat,lng or #bbox=w,s,e,n, with &name=).
  function focusFromHash(map) {
    const hash = new URLSearchParams(location.hash.slice(1));
    const nums = (key) => (hash.get(key) || "").split(",").map(Number);
    const name = (hash.get("name") || "").slice(0, MAX_CHARS);
    const state = {};
    if (hash.has("bbox")) {
      const [w, s, e, n] = nums("bbox");
      if ([w, s, e, n].every(Number.isFinite)) {
        flyTo(map, { name: name, bbox: [w, s, e, n], lat: (s + n) / 2, lng: (w + e) / 2 }, state);
      }
    } else if (hash.has("at")) {
      const [lat, lng] = nums("at");
      if (Number.isFinite(lat) && Number.isFinite(lng)) flyTo(map, { name: name, lat: lat, lng: lng }, state);
    }
  }

  function placeSearch(input, options) {
    const opts = options || {};
    const state = { seq: 0, timer: null, items: [], active: -1, marker: null };
    input.setAttribute("maxlength", String(MAX_CHARS));
    input.setAttribute("autocomplete", "off");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-expanded", "false");
    const list = h("div", { class: "place-search-list", role: "listbox", hidden: true });
    const wrap = h("div", { class: "place-search" });
    input.replaceWith(wrap);
    wrap.append(input, list);

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      state.active = -1;
    }

    function pick(item) {
      close();
      input.value = item.name;
      if (opts.map) flyTo(opts.map, item, state);
      if (opts.onPick) opts.onPick(item);
    }

    function mark(index) {
      const rows = list.querySelectorAll(".place-search-item");
      rows.forEach((row, i) => row.classList.toggle("is-active", i === index));
      state.active = index;
      if (rows[index]) rows[index].scrollIntoView({ block: "nearest" });
    }

    function render(body) {
      state.items = [];
      const children = [];
      for (const group of body.groups) {
        children.push(h("div", { class: "place-search-group" }, group.label));
        for (const item of group.items) {
          const index = state.items.push(item) - 1;
          children.push(h("button", {
            type: "button", class: "place-search-item", role: "option", dataset: { kind: item.kind },
            onmousedown: (e) => e.preventDefault(), onclick: () => pick(item),
            onmousemove: () => mark(index),
          }, h("span", { class: "place-search-name" }, item.name),
          h("span", { class: "place-search-sub" }, item.sub_label),
          item.detail ? h("span", { class: "place-search-detail" }, item.detail) : null));
        }
      }
      if (!children.length) children.push(h("div", { class: "place-search-empty" }, "没有找到相关的地点、单位或事件"));
      FQ.fill(list, children);
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      state.active = -1;
    }

    async function lookUp() {
      const q = input.value.trim();
      const seq = ++state.seq;
      if (!q) {
        close();
        return;
      }
      try {
        const body = await api("/search?" + new URLSearchParams({ q: q.slice(0, MAX_CHARS) }));
        if (seq === state.seq) render(body);
      } catch (error) {
        if (seq !== state.seq) return;
        FQ.fill(list, [h("div", { class: "place-search-empty form-error" }, FQ.problemText(error))]);
        list.hidden = false;
      }
    }

    input.addEventListener("input", () => {
      clearTimeout(state.timer);
      state.timer = setTimeout(lookUp, DELAY_MS);
    });
    input.addEventListener("focus", () => { if (state.items.length && input.value.trim()) list.hidden = false; });
    input.addEventListener("blur", () => setTimeout(close, 120));
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        if (list.hidden || !state.items.length) return;
        e.preventDefault();
        const step = e.key === "ArrowDown" ? 1 : -1;
        mark((state.active + step + state.items.length) % state.items.length);
      } else if (e.key === "Enter") {
        e.preventDefault();
        const item = state.items[state.active >= 0 ? state.active : 0];
        if (item && !list.hidden) pick(item);
      } else if (e.key === "Escape") {
        close();
      }
    });
    return { close: close, pick: pick };
  }

  placeSearch.focusFromHash = focusFromHash;
  FQ.placeSearch = placeSearch;

  for (const input of document.querySelectorAll("input[data-place-search=page]")) {
    placeSearch(input, { onPick: openPage });
  }
})();
