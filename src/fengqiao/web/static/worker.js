// The phone app of grid workers and unit handlers: report with stamped photos and GPS (kept in
// an offline queue and sent with idempotency keys when the network returns; a report refused as
// outside the district can be moved and sent again), tasks (worker_verify.js, worker_inbox.js),
// messages, patrol with a recorded track, and the one-click alarm. The tabs are the role's (the
// template renders them). Installable as a PWA (manifest + service worker under /m/).
(function () {
  "use strict";

  const { api, h, short, toast, T } = FQ;
  const $ = (id) => document.getElementById(id);
  const app = $("app");
  const USER_ID = Number(app.dataset.userId);
  const PATROL_INTERVAL = Number(app.dataset.patrolInterval) * 1000;
  const PATROL_BATCH = Number(app.dataset.patrolBatch);
  const ALARM_CATEGORY = app.dataset.alarmCategory;
  const POSITIONS_KEY = "fq.positions." + USER_ID;
  const REPORTING = Boolean($("report-form")); // grid workers report; handlers do not

  let fix = null; // the latest GPS fix: {lat, lng, accuracy, at}
  let picker = null; // the report form's photos (FQPhotos.attach)

  // Metres between two {lat, lng} (equirectangular: exact enough within a district).
  function metres(a, b) {
    const rad = Math.PI / 180;
    const x = (b.lng - a.lng) * rad * Math.cos(((a.lat + b.lat) / 2) * rad);
    const y = (b.lat - a.lat) * rad;
    return Math.sqrt(x * x + y * y) * 6371008.8;
  }

  // The base (static/basemap.js): the local roads and rivers of my area, and the tiles set in
  // 系统管理 · 底图 when there are any.
  function basemap(map) {
    FQ.basemap.add(map, { switcher: false });
    return map;
  }

  // The grids of my area drawn on a map (read once): where the grid lines run, without a base map.
  let gridShapes = null;

  function drawGrids(map) {
    if (!gridShapes) gridShapes = api("/grids/geojson").catch(() => { gridShapes = null; return null; });
    gridShapes.then((g) => g && L.geoJSON(g, { style: { color: "#b22222", weight: 1.5, fillOpacity: 0.05 },
      interactive: false }).addTo(map));
    return map;
  }

  // What the task scripts share with this one.
  window.FQWorker = {
    drawGrids: drawGrids,
    position: () => fix, currentFix: () => currentFix(), metres: metres, basemap: basemap,
    // The last fix shown again (a script loaded after the fix came, worker_place.js, says it).
    showFix: () => renderFix(),
    home: () => ($("user-home") ? $("user-home").textContent : ""), grid: () => gridHere(),
    // A refusal found before asking the server, shown on the form as the server's would be.
    refuse: (form, text, field) => FQ.showErrors(form, new FQ.ApiError(422, { detail_zh: text,
      errors: [{ field: field, reason_zh: text }] })),
    // The 任务/待办 tab's badge: the cards waiting in either list.
    taskBadge: () => {
      const waiting = document.querySelectorAll("#task-list > li.task, #inbox-list > li.task").length;
      $("tasks-badge").hidden = waiting === 0;
      $("tasks-badge").textContent = String(waiting);
    },
  };

  // --- tabs ---------------------------------------------------------------------------------

  function show(view) {
    for (const section of document.querySelectorAll(".app-view")) {
      section.hidden = section.dataset.view !== view;
    }
    for (const button of document.querySelectorAll(".tab-bar button[data-tab]")) {
      if (button.dataset.tab === view) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
    if (view === "tasks") loadTasks();
    if (view === "messages") loadMessages();
    if (view === "patrol") showTrack();
    history.replaceState(null, "", "#" + view);
  }

  // --- GPS ----------------------------------------------------------------------------------

  function gpsText(text, bad) {
    if (!$("gps-text")) return;
    $("gps-text").textContent = text;
    $("gps-card").classList.toggle("is-bad", bad);
  }

  function watchGps() {
    if (!navigator.geolocation) {
      gpsText("此设备不支持定位", true);
      return;
    }
    navigator.geolocation.watchPosition((pos) => {
      fix = { lat: pos.coords.latitude, lng: pos.coords.longitude,
        accuracy: pos.coords.accuracy, speed: pos.coords.speed, at: new Date(pos.timestamp || Date.now()) };
      renderFix();
      // On patrol, a move of more than 25 m is recorded at once, besides the regular interval.
      if (patrolTimer && metresFromLast() > 25) record();
    }, (err) => {
      if (fix && err.code !== 1) return; // a passing hiccup: keep the last fix
      gpsText("无法定位：" + (err.code === 1 ? "请允许本应用使用位置信息" : err.message), true);
    }, { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 });
  }

  function renderFix() {
    if (!fix) return;
    document.dispatchEvent(new CustomEvent("fq:fix")); // the verify cards move the worker's marker
    const accuracy = Math.round(fix.accuracy || 0);
    // In words on the report form (worker_place.js); raw coordinates only where it is absent.
    if (window.FQWorkerPlace) FQWorkerPlace.onFix(fix, accuracy, gpsText);
    else gpsText(fix.lat.toFixed(6) + ", " + fix.lng.toFixed(6) + " · 精度 ±" + accuracy + " 米", accuracy > 100);
    if ($("gps-card")) $("gps-card").dataset.accuracy = String(accuracy);
    locateHere();
  }

  // The grid the phone stands in, for the photo stamps: asked again after a move of 50 m; the
  // user's home area when offline or outside every grid.
  let here = null; // {lat, lng, grid}

  async function locateHere() {
    if (!fix || !navigator.onLine || (here && metres(here, fix) < 50)) return;
    const at = { lat: fix.lat, lng: fix.lng, grid: null };
    here = at;
    try {
      const place = await api("/grids/locate" + FQ.query({ lat: at.lat, lng: at.lng }), { noRedirect: true });
      at.grid = place.grid.name;
    } catch (_err) { /* outside the district, or offline: the home name serves */ }
  }

  function gridHere() {
    return (here && here.grid) || ($("user-home") ? $("user-home").textContent : "");
  }

  function currentFix() {
    return new Promise((resolve) => {
      if (!navigator.geolocation) return resolve(fix);
      // While the watch runs its latest fix is current: a one-off request gets two seconds to
      // improve on it (Chromium may hold a one-off request as long as a watch is open).
      const fallback = fix ? setTimeout(() => resolve(fix), 2000) : null;
      navigator.geolocation.getCurrentPosition((pos) => {
        clearTimeout(fallback);
        fix = { lat: pos.coords.latitude, lng: pos.coords.longitude, accuracy: pos.coords.accuracy,
          speed: pos.coords.speed, at: new Date(pos.timestamp || Date.now()) };
        renderFix();
        resolve(fix);
      }, () => { clearTimeout(fallback); resolve(fix); }, { enableHighAccuracy: true, maximumAge: 5000, timeout: 8000 });
    });
  }

  // --- the offline queue (IndexedDB keeps photos as blobs: FQ.offlineQueue) -------------------

  const offline = FQ.offlineQueue("fengqiao-worker");
  const queued = () => offline.all();
  const enqueue = offline.put;
  const dequeue = offline.remove;

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  async function renderQueue() {
    if (!REPORTING) return;
    const items = await queued();
    $("queue-card").hidden = items.length === 0;
    $("queue-count").textContent = String(items.length);
    FQ.fill($("queue-list"), ...items.map((item) => h("li", { class: item.error ? "failed" : "", dataset: { key: item.key } },
      h("span", {}, (item.alarm ? "【报警】" : "") + item.label + " · " + short(item.createdAt)),
      item.error ? h("span", { class: "queue-error" }, h("span", { class: "queue-reason" }, item.error), " ",
        // A point outside the district is corrected on a map, then sent again.
        item.errorType === "outside-district" ? h("button", { type: "button", class: "btn btn-small btn-primary",
          onclick: () => openCorrection(item) }, "修正位置") : null, " ",
        h("button", { type: "button", class: "btn btn-small",
          onclick: async () => { await dequeue(item.key); renderQueue(); } }, "删除")) : h("span", { class: "muted" }, "待发送"))));
  }

  let flushing = false;

  // Send what is queued, oldest first. A network failure keeps the item for the next try; the
  // idempotency key makes a retry of a report that did arrive return the first event.
  async function flush() {
    if (flushing || !navigator.onLine) return;
    flushing = true;
    try {
      const items = (await queued()).filter((i) => !i.error).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      for (const item of items) {
        try {
          const created = await send(item);
          await dequeue(item.key);
          toast((item.alarm ? "报警已送达指挥室：" : "已上报：") + created.code, "ok");
        } catch (error) {
          if (error instanceof FQ.ApiError && error.status >= 400 && error.status < 500 &&
              ![401, 408, 429].includes(error.status)) {
            item.error = FQ.problemText(error);
            item.errorType = String((error.problem && error.problem.type) || "").split("/").pop();
            await enqueue(item);
          } else {
            break; // offline or the server is busy: try again later
          }
        }
      }
    } finally {
      flushing = false;
      renderQueue();
      loadMine();
    }
  }

  function send(item) {
    const headers = { "Idempotency-Key": item.key };
    if (!item.photos || !item.photos.length) {
      return api("/events", { method: "POST", json: item.fields, headers: headers, noRedirect: true });
    }
    const body = new FormData();
    for (const [key, value] of Object.entries(item.fields)) {
      body.append(key, typeof value === "object" ? JSON.stringify(value) : String(value));
    }
    // The photos with their origins, and where the phone was when the report was made.
    FQPhotos.append(body, item.photos, item.device);
    return api("/events", { method: "POST", body: body, headers: headers, noRedirect: true });
  }

  // --- correcting a queued report's point ------------------------------------------------------

  let correcting = null; // {item, point, map, marker}

  async function openCorrection(item) {
    const dialog = $("fix-dialog");
    correcting = { item: item, point: { lat: item.fields.lat, lng: item.fields.lng } };
    $("fix-title").textContent = item.label + " · " + short(item.createdAt);
    dialog.showModal();
    if (!fixMap) {
      const map = basemap(FQ.leafletMap("fix-map", { attributionControl: Boolean(app.dataset.basemap) }));
      drawGrids(map);
      const marker = L.marker([0, 0], { draggable: true, title: "上报位置", alt: "上报位置" }).addTo(map);
      marker.on("dragend", () => movePoint(marker.getLatLng()));
      map.on("click", (e) => movePoint(e.latlng));
      fixMap = { map: map, marker: marker };
    }
    fixMap.map.invalidateSize();
    await movePoint(correcting.point, true);
  }

  let fixMap = null;

  // Put the report's point at `latlng` and say which grid it lies in (or why none).
  async function movePoint(latlng, first) {
    const point = { lat: latlng.lat, lng: latlng.lng };
    correcting.point = point;
    fixMap.marker.setLatLng([point.lat, point.lng]);
    if (first) fixMap.map.setView([point.lat, point.lng], 15);
    else fixMap.map.panTo([point.lat, point.lng]);
    const status = $("fix-status");
    status.textContent = point.lat.toFixed(6) + ", " + point.lng.toFixed(6) + " · 正在核对…";
    status.classList.remove("is-bad", "is-ok");
    try {
      const place = await api("/grids/locate" + FQ.query({ lat: point.lat, lng: point.lng }), { noRedirect: true });
      if (correcting.point !== point) return; // moved again meanwhile
      status.textContent = "位于" + place.town.name + " " + place.grid.name;
      status.classList.add("is-ok");
    } catch (error) {
      if (correcting.point !== point) return;
      status.textContent = error.status === 0 ? "离线：恢复网络后发送时再核对" : FQ.problemText(error);
      status.classList.toggle("is-bad", error.status !== 0);
    }
  }

  async function relocate() {
    const position = await currentFix();
    if (position) await movePoint(position);
    else toast("无法定位，请在地图上点选位置", "error");
  }

  async function resend() {
    const item = correcting.item;
    item.fields.lat = correcting.point.lat;
    item.fields.lng = correcting.point.lng;
    delete item.error;
    delete item.errorType;
    await enqueue(item); // the same idempotency key: the refused try stored nothing
    $("fix-dialog").close();
    correcting = null;
    await renderQueue();
    await flush();
  }

  // --- reporting ----------------------------------------------------------------------------

  let classes = { majors: [], categories: [] };

  async function loadClasses() {
    try {
      classes = await api("/categories");
      localStorage.setItem("fq.categories", JSON.stringify(classes));
    } catch (_err) {
      classes = JSON.parse(localStorage.getItem("fq.categories") || '{"majors":[],"categories":[]}');
    }
    renderMajors();
  }

  // The major classes offered (all, or those of the business module chosen).
  function renderMajors() {
    $("report-category").value = "";
    FQ.fill($("minor-chips"), );
    FQIntake.clearQuestions();
    const offered = new Set(classes.categories.filter((c) => FQIntake.allows(c.code)).map((c) => c.major_code));
    FQ.fill($("major-chips"), ...classes.majors.filter((m) => offered.has(m.code)).map((m) => h("button", {
      type: "button", class: "chip", role: "radio", "aria-checked": "false", dataset: { code: m.code },
      onclick: () => pickMajor(m.code),
    }, m.name_zh)));
  }

  function pickMajor(code) {
    for (const chip of $("major-chips").children) chip.setAttribute("aria-checked", String(chip.dataset.code === code));
    $("report-category").value = "";
    FQIntake.clearQuestions();
    FQ.fill($("minor-chips"), ...classes.categories.filter((c) => c.major_code === code && FQIntake.allows(c.code)).map((c) =>
      h("button", { type: "button", class: "chip", role: "radio", "aria-checked": "false", dataset: { code: c.code },
        onclick: () => {
          for (const chip of $("minor-chips").children) chip.setAttribute("aria-checked", String(chip.dataset.code === c.code));
          $("report-category").value = c.code;
          FQIntake.renderQuestions(c.code);
        } }, c.name_zh)));
  }

  // What a photo of the report is stamped with: where the phone is, the address typed so far.
  function reportContext() {
    return { position: fix, address: $("report-form").elements.address.value.trim(), grid: gridHere() };
  }

  async function report(e) {
    e.preventDefault();
    const form = $("report-form");
    FQ.clearErrors(form);
    const category = $("report-category").value;
    if (!category) {
      FQ.showErrors(form, new FQ.ApiError(422, { detail_zh: "请选择事件分类",
        errors: [{ field: "category", reason_zh: "请选择小类" }] }));
      return;
    }
    const position = fix || (await currentFix());
    if (!position) {
      FQ.showErrors(form, new FQ.ApiError(422, { detail_zh: "还没有定位，请打开定位后重试" }));
      return;
    }
    const data = FQ.formData(form);
    const minor = classes.categories.find((c) => c.code === category);
    const fields = { source: "grid_worker", category: category, description: data.description || "",
      address: data.address || "", lat: position.lat, lng: position.lng };
    const corrected = window.FQWorkerPlace && FQWorkerPlace.point();
    if (corrected) Object.assign(fields, { lat: corrected.lat, lng: corrected.lng });
    const answers = FQIntake.answers();
    if (Object.keys(answers).length) fields.answers = answers;
    const item = { key: newKey(), createdAt: new Date().toISOString(), fields: fields,
      photos: await picker.ready(), device: FQPhotos.device(position), label: minor ? minor.name_zh : category };
    await enqueue(item); // first on the phone, then to the server: nothing is lost offline
    form.reset();
    picker.clear();
    if (window.FQWorkerPlace) FQWorkerPlace.reset();
    FQ.fill($("minor-chips"), );
    FQIntake.clearQuestions();
    for (const chip of $("major-chips").children) chip.setAttribute("aria-checked", "false");
    if (!navigator.onLine) toast("网络不可用，已保存，恢复后自动发送");
    await renderQueue();
    await flush();
  }

  async function loadMine() {
    if (!REPORTING) return;
    try {
      const page = await api("/events" + FQ.query({ reporter: USER_ID, size: 10 }));
      FQ.fill($("my-reports"), ...page.items.map((e) => h("li", { class: "task mine", dataset: { event: e.id, status: e.status } },
        h("div", {}, FQ.statusBadge(e.status), " ", e.urgent ? h("span", { class: "badge-urgent" }, "紧急") : null,
          " ", h("a", { href: "/events/" + e.id }, e.title)),
        h("div", { class: "muted" }, e.code + " · " + short(e.created_at)))));
    } catch (_err) { /* offline */ }
  }

  // --- tasks (worker_verify.js: 核查; worker_inbox.js: a handler's 待办) -----------------------

  function loadTasks() {
    document.dispatchEvent(new CustomEvent("fq:tasks"));
  }

  // --- messages -----------------------------------------------------------------------------

  async function loadMessages() {
    let data;
    try {
      data = await api("/me/notifications?limit=50");
    } catch (_err) {
      return;
    }
    let unread = data.unread;
    const count = () => {
      $("messages-badge").hidden = !unread;
      $("messages-badge").textContent = String(unread);
    };
    count();
    FQ.fill($("message-list"), ...(data.items.length ? data.items.map((n) => h("li", {
      class: "message" + (n.read_at ? "" : " is-unread"),
      onclick: async (ev) => {
        const item = ev.currentTarget;
        if (!item.classList.contains("is-unread")) return;
        item.classList.remove("is-unread");
        unread = Math.max(0, unread - 1); // the tab's badge follows at once
        count();
        await api("/me/notifications/" + n.id + "/read", { method: "POST" }).catch(() => {});
      },
    }, h("div", { class: "message-head" }, h("strong", {}, n.title), h("span", { class: "muted" }, short(n.created_at))),
      h("div", { class: "description" }, n.body))) : [h("li", { class: "message muted" }, "暂无消息")]));
  }

  // --- patrol -------------------------------------------------------------------------------

  let patrolTimer = null;
  let trackMap = null;
  let trackLine = null;

  const buffered = () => JSON.parse(localStorage.getItem(POSITIONS_KEY) || "[]");
  const keep = (points) => localStorage.setItem(POSITIONS_KEY, JSON.stringify(points));

  function metresFromLast() {
    const points = buffered();
    const last = points[points.length - 1] || lastSent;
    return last && fix ? metres(last, fix) : Infinity;
  }

  let lastSent = null;

  function record() {
    if (!fix) return;
    const points = buffered();
    points.push({ at: new Date().toISOString(), lat: fix.lat, lng: fix.lng,
      accuracy: fix.accuracy == null ? null : Math.round(fix.accuracy * 10) / 10,
      speed: fix.speed == null || isNaN(fix.speed) ? null : fix.speed });
    keep(points);
    if (points.length >= PATROL_BATCH) sendPositions();
    drawTrack();
  }

  let sendingPositions = false;

  async function sendPositions() {
    if (sendingPositions || !navigator.onLine) return;
    const points = buffered();
    if (!points.length) return;
    sendingPositions = true;
    try {
      for (let i = 0; i < points.length; i += 500) {
        await api("/me/positions", { method: "POST", json: { points: points.slice(i, i + 500) }, noRedirect: true });
      }
      // Only what was sent leaves the buffer; points recorded meanwhile stay.
      const sent = new Set(points.map((p) => p.at));
      lastSent = points[points.length - 1];
      keep(buffered().filter((p) => !sent.has(p.at)));
    } catch (_err) {
      // kept for the next batch (retries are idempotent: one point per moment)
    } finally {
      sendingPositions = false;
    }
  }

  function patrolOn(on) {
    const card = document.querySelector(".patrol-card");
    card.classList.toggle("is-on", on);
    $("patrol-toggle").textContent = on ? "结束巡查" : "开始巡查";
    $("patrol-state").textContent = on ? "巡查中：每 " + PATROL_INTERVAL / 1000 + " 秒记录一次位置"
      : "未在巡查";
    clearInterval(patrolTimer);
    patrolTimer = on ? setInterval(record, PATROL_INTERVAL) : null;
  }

  async function togglePatrol() {
    const button = $("patrol-toggle");
    button.disabled = true;
    try {
      if (patrolTimer) {
        record();
        await sendPositions();
        const done = await api("/me/patrol/stop", { method: "POST" });
        patrolOn(false);
        toast("巡查结束：" + (done.distance_m / 1000).toFixed(2) + " 公里，覆盖 " + done.grids.length + " 个网格", "ok");
      } else {
        await api("/me/patrol/start", { method: "POST" });
        await currentFix();
        patrolOn(true);
        record();
        toast("巡查开始", "ok");
      }
    } catch (error) {
      toast(FQ.problemText(error), "error");
    } finally {
      button.disabled = false;
      showTrack();
    }
  }

  let serverTrack = [];

  async function showTrack() {
    try {
      const mine = await api("/me/patrol");
      patrolOn(Boolean(mine.open));
      const today = mine.today || {};
      $("patrol-distance").textContent = ((today.distance_m || 0) / 1000).toFixed(2);
      $("patrol-duration").textContent = String(Math.round((today.duration_s || 0) / 60));
      $("patrol-grids").textContent = String((today.grids || []).length);
      const geometry = today.geometry || { coordinates: [] };
      serverTrack = (geometry.type === "LineString" ? [geometry.coordinates] : geometry.coordinates || [])
        .map((line) => line.map(([lng, lat]) => [lat, lng]));
    } catch (_err) { /* offline: draw what the phone has */ }
    drawTrack();
  }

  function drawTrack() {
    if ($("view-patrol").hidden) return;
    if (!trackMap) {
      trackMap = FQ.leafletMap("track-map", { attributionControl: false });
      trackLine = L.layerGroup().addTo(trackMap);
      drawGrids(trackMap);
    }
    trackLine.clearLayers();
    const local = buffered().map((p) => [p.lat, p.lng]);
    const lines = serverTrack.concat(local.length ? [local] : []).filter((l) => l.length);
    for (const line of lines) L.polyline(line, { color: "#1a73e8", weight: 4 }).addTo(trackLine);
    const all = lines.flat();
    if (all.length) trackMap.fitBounds(L.latLngBounds(all).pad(0.3), { maxZoom: 17 });
    else if (fix) trackMap.setView([fix.lat, fix.lng], 16);
    else trackMap.setView([30.07, 120.5], 11);
    if (fix) L.circleMarker([fix.lat, fix.lng], { radius: 6, color: "#fff", weight: 2, fillColor: "#d93025",
      fillOpacity: 1 }).addTo(trackLine);
  }

  // --- the one-click alarm -----------------------------------------------------------------

  async function alarm() {
    const dialog = $("alarm-dialog");
    const form = $("alarm-form");
    FQ.clearErrors(form);
    dialog.showModal();
    currentFix();
  }

  async function confirmAlarm(e) {
    e.preventDefault();
    const form = $("alarm-form");
    const position = fix || (await currentFix());
    if (!position) {
      FQ.showErrors(form, new FQ.ApiError(422, { detail_zh: "无法定位，请直接拨打 110" }));
      return;
    }
    const note = form.elements.note.value.trim();
    const fields = { source: "grid_worker", category: ALARM_CATEGORY, title: "一键报警",
      description: (note ? note + "\n" : "") + "网格员一键报警，定位精度 ±" + Math.round(position.accuracy || 0) + " 米",
      lat: position.lat, lng: position.lng, urgent: true };
    const item = { key: newKey(), createdAt: new Date().toISOString(), fields: fields, photos: [],
      label: "一键报警", alarm: true };
    await enqueue(item);
    $("alarm-dialog").close();
    form.reset();
    if (!navigator.onLine) {
      toast("网络不可用：报警已保存，恢复后立即发送。紧急情况请拨打 110", "error");
      renderQueue();
      return;
    }
    await flush();
    const button = $("alarm-button");
    button.classList.add("is-sent");
    setTimeout(() => button.classList.remove("is-sent"), 8000);
  }

  // --- online / offline ---------------------------------------------------------------------

  function netState() {
    const online = navigator.onLine;
    $("net-state").textContent = online ? "在线" : "离线";
    $("net-state").classList.toggle("is-offline", !online);
    if (online) {
      flush();
      sendPositions();
    }
  }

  function liveMessages() {
    FQ.live.on("notification", (n) => {
      toast("新消息：" + n.title);
      const badge = $("messages-badge");
      badge.hidden = false;
      badge.textContent = String(Number(badge.textContent || 0) + 1);
      if (!$("view-messages").hidden) loadMessages();
      if (!$("view-tasks").hidden) loadTasks();
    });
  }

  // --- start --------------------------------------------------------------------------------

  for (const button of document.querySelectorAll(".tab-bar button[data-tab]")) {
    button.addEventListener("click", () => show(button.dataset.tab));
  }
  $("read-all").addEventListener("click", async () => {
    await api("/me/notifications/read-all", { method: "POST" }).catch(() => {});
    loadMessages();
  });
  window.addEventListener("online", netState);
  window.addEventListener("offline", netState);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/m/sw.js", { scope: "/m/" }).catch(() => {});
  }
  if (REPORTING) {
    picker = FQPhotos.attach($("report-picker"), reportContext);
    $("report-form").addEventListener("submit", report);
    $("gps-refresh").addEventListener("click", () => currentFix());
    $("patrol-toggle").addEventListener("click", togglePatrol);
    $("alarm-button").addEventListener("click", alarm);
    $("alarm-form").addEventListener("submit", (e) => {
      if (e.submitter && e.submitter.value === "confirm") confirmAlarm(e);
    });
    $("checklist-form").addEventListener("submit", async (e) => {
      if (e.submitter && e.submitter.value === "confirm") FQIntake.submitChecklist(e, fix || (await currentFix()));
    });
    $("fix-relocate").addEventListener("click", relocate);
    $("fix-send").addEventListener("click", resend);
    $("fix-cancel").addEventListener("click", () => { $("fix-dialog").close(); correcting = null; });
    document.addEventListener("fq:reported", () => loadMine());
    FQIntake.load(renderMajors);
    loadClasses();
    renderQueue().then(flush);
    loadMine();
  }
  watchGps();
  loadTasks();
  loadMessages();
  liveMessages();
  netState();
  const start = location.hash.slice(1);
  const tabs = Array.from(document.querySelectorAll(".tab-bar button[data-tab]"), (b) => b.dataset.tab);
  show(tabs.includes(start) && start !== "proxy" ? start : tabs[0]); // worker_proxy.js opens #proxy
  app.dataset.state = "ready";
})();
