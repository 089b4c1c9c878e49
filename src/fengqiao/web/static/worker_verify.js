// The grid worker's 任务 tab: each event waiting for my verification is a card with what the
// worker needs on site (the description, the address, a small map with the event and me, the
// photos before and after side by side, a 导航 link) and the verdict: 核查通过 takes an on-site
// photo from the camera and an explicit confirmation; 退回返工 takes a reason. The server's
// refusal (a photo too old or too far, no confirmation) shows on the card in Chinese.
(function () {
  "use strict";

  const { api, h, short, toast } = FQ;
  const $ = (id) => document.getElementById(id);
  const list = $("task-list");
  if (!list) return;
  // Photo kinds on each side of the pair: what the place looked like, and what the unit did.
  const BEFORE = ["report", "before", "near", "far"];
  const AFTER = ["after", "evidence"];
  const cards = new Map(); // event id → {node, map, me, event}

  function distanceText(metres) {
    if (metres < 1000) return "距您约 " + Math.round(metres) + " 米";
    return "距您约 " + (metres / 1000).toFixed(1) + " 公里";
  }

  // 导航: the phone's map app by a geo: URI; 高德地图 by its link, told the point is WGS-84.
  function navLinks(e) {
    const name = e.address || e.title;
    const geo = "geo:" + e.lat + "," + e.lng + "?q=" + e.lat + "," + e.lng + "(" + encodeURIComponent(name) + ")";
    const amap = "https://uri.amap.com/marker" + FQ.query({ position: e.lng + "," + e.lat, name: name,
      coordinate: "wgs84", callnative: 1 });
    return [h("a", { class: "btn btn-small btn-primary nav-link", href: geo, dataset: { nav: "geo" } }, "导航"),
      h("a", { class: "btn btn-small btn-ghost nav-link", href: amap, target: "_blank", rel: "noopener",
        dataset: { nav: "amap" } }, "高德地图")];
  }

  function photoColumn(kind, attachments) {
    return h("div", { class: "photo-column", dataset: { side: kind } },
      h("div", { class: "photo-column-head" }, FQ.label("photoKinds", kind)),
      attachments.length ? attachments.map((a) => h("figure", { class: "photo", dataset: { kind: a.kind } },
        h("a", { href: a.url, target: "_blank" }, h("img", { src: a.url, alt: FQ.label("photoKinds", a.kind), loading: "lazy" })),
        h("figcaption", {}, FQ.label("photoKinds", a.kind) + (a.taken_at ? " · " + short(a.taken_at) : ""))))
        : h("p", { class: "muted" }, "暂无照片"));
  }

  // The card's detail part, once the event's photos are read.
  function fillPhotos(card, detail) {
    const photos = detail.attachments || [];
    FQ.fill(card.node.querySelector(".photo-pair"),
      photoColumn("before", photos.filter((a) => BEFORE.includes(a.kind))),
      photoColumn("after", photos.filter((a) => AFTER.includes(a.kind))));
  }

  function drawMap(card) {
    const box = card.node.querySelector(".verify-map");
    if (card.map || box.closest(".app-view").hidden) {
      if (card.map) card.map.invalidateSize();
      return;
    }
    const e = card.event;
    const map = FQWorker.drawGrids(FQWorker.basemap(FQ.leafletMap(box, { attributionControl: false,
      zoomControl: false, scrollWheelZoom: false })));
    // The event as a pin, the worker as a dot: both show when the worker stands on the spot.
    L.marker([e.lat, e.lng], { title: "事件位置", alt: "事件位置" }).addTo(map);
    card.map = map;
    placeMe(card);
  }

  // The worker's own position on the card's map, and the distance to the event.
  function placeMe(card) {
    const me = FQWorker.position();
    const e = card.event;
    const distance = card.node.querySelector(".distance");
    distance.textContent = me ? distanceText(FQWorker.metres(me, e)) : "正在获取您的位置…";
    if (!card.map) return;
    if (me && card.me) {
      card.me.setLatLng([me.lat, me.lng]); // moves the marker, not the map the worker may be panning
    } else if (me) {
      card.me = L.circleMarker([me.lat, me.lng], { radius: 7, color: "#fff", weight: 2, fillColor: "#1a73e8",
        fillOpacity: 1 }).bindTooltip("我的位置").addTo(card.map);
      card.map.fitBounds(L.latLngBounds([[e.lat, e.lng], [me.lat, me.lng]]).pad(0.4), { maxZoom: 17 });
    } else {
      card.map.setView([e.lat, e.lng], 16);
    }
  }

  function build(e) {
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    const pickerRoot = FQPhotos.pickerNode({ cameraText: "拍摄现场照片", album: false, small: true });
    const form = h("form", { class: "task-form", novalidate: true },
      pickerRoot,
      h("textarea", { name: "note", maxlength: 2000, placeholder: "核查意见（退回时必填）" }),
      h("label", { class: "confirm" }, h("input", { type: "checkbox", name: "confirmed" }),
        "我已到现场核实，处置情况属实"),
      error);
    const node = h("li", { class: "task verify-card", dataset: { id: e.id } },
      h("div", { class: "task-head" }, h("h3", {}, e.title), " ", e.light ? FQ.lightBadge(e.light) : null,
        e.supervised ? h("span", { class: "badge-supervised" }, "督办") : null),
      h("div", { class: "muted" }, e.code + " · " + (e.owner_unit ? e.owner_unit.name : "") +
        (e.handled_at ? " · 反馈于 " + short(e.handled_at) : "")),
      h("p", { class: "description" }, e.description || "（无描述）"),
      h("div", { class: "place" }, "地址：" + (e.address || "未填写") + " · " + e.grid.name),
      h("div", { class: "verify-map", "aria-label": "事件位置与我的位置" }),
      h("div", { class: "nav-row" }, h("span", { class: "distance muted" }), ...navLinks(e)),
      e.result ? h("p", { class: "result" }, "处置结果：" + e.result) : null,
      h("div", { class: "photo-pair" }),
      form,
      h("div", { class: "buttons" },
        h("button", { type: "button", class: "btn btn-primary", dataset: { ok: "true" }, onclick: () => verify(card, true) }, "核查通过"),
        h("button", { type: "button", class: "btn btn-secondary", dataset: { ok: "false" }, onclick: () => verify(card, false) }, "退回返工")));
    const card = { node: node, event: e, map: null, me: null, form: form };
    card.picker = FQPhotos.attach(pickerRoot, () => ({ position: FQWorker.position(), address: e.address, grid: e.grid.name }));
    api("/events/" + e.id).then((detail) => fillPhotos(card, detail)).catch(() => {});
    return card;
  }

  async function verify(card, ok) {
    const { form, event: e } = card;
    FQ.clearErrors(form);
    const note = form.elements.note.value.trim();
    const photos = await card.picker.ready();
    if (ok && !photos.length) return FQWorker.refuse(form, "请先拍摄现场照片", "photos");
    if (ok && !form.elements.confirmed.checked) return FQWorker.refuse(form, "请勾选确认已到现场核实", "confirmed");
    if (!ok && !note) return FQWorker.refuse(form, "退回返工请填写核查意见", "note");
    const buttons = card.node.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const body = { action: "verify", ok: ok, note: note };
      if (photos.length) {
        // The position at upload goes with the photos: the server checks time and distance.
        const position = FQWorker.position() || (await FQWorker.currentFix());
        const stored = await FQPhotos.upload(e.id, "verify", photos, position);
        body.attachment_ids = stored.map((a) => a.id);
      }
      if (ok) body.confirmed = true;
      body.version = (await api("/events/" + e.id)).version;
      const done = await api("/events/" + e.id + "/transitions", { method: "POST", json: body });
      toast(ok ? "核查通过，事件已结案：" + done.code : "已退回责任单位返工", "ok");
      cards.delete(e.id);
      card.picker.clear();
      document.dispatchEvent(new CustomEvent("fq:reported")); // 我的上报 shows the new status
      load();
    } catch (error) {
      FQ.showErrors(form, error);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  // The list, keeping the cards already shown (a photo taken, a note typed stay put).
  async function load() {
    let page;
    try {
      page = await api("/events" + FQ.query({ task: "verify", size: 50 }));
    } catch (_err) {
      return;
    }
    const ids = new Set(page.items.map((e) => e.id));
    for (const id of cards.keys()) if (!ids.has(id)) cards.delete(id);
    const shown = page.items.map((e) => {
      if (!cards.has(e.id)) cards.set(e.id, build(e));
      return cards.get(e.id);
    });
    $("task-count").textContent = shown.length ? shown.length + " 件" : "";
    FQ.fill(list, ...(shown.length ? shown.map((c) => c.node) : [h("li", { class: "muted" }, "没有待核查的事件")]));
    shown.forEach(drawMap);
    FQWorker.taskBadge();
  }

  document.addEventListener("fq:tasks", load);
  document.addEventListener("fq:fix", () => cards.forEach(placeMe));
})();
