// The grid worker's app: report with photos and GPS (kept in an offline queue and sent with
// idempotency keys when the network returns), verify tasks, messages, patrol with a recorded
// track, and the one-click alarm. Installable as a PWA (manifest + service worker under /m/).
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

  let fix = null; // the latest GPS fix: {lat, lng, accuracy, at}
  let photos = [];

  // --- tabs ---------------------------------------------------------------------------------

  function show(view) {
    for (const section of document.querySelectorAll(".app-view")) {
      section.hidden = section.dataset.view !== view;
    }
    for (const button of document.querySelectorAll(".tab-bar button")) {
      if (button.dataset.tab === view) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
    if (view === "tasks") loadTasks();
    if (view === "messages") loadMessages();
    if (view === "patrol") showTrack();
    history.replaceState(null, "", "#" + view);
  }

  // --- GPS ----------------------------------------------------------------------------------

  function watchGps() {
    if (!navigator.geolocation) {
      $("gps-text").textContent = "此设备不支持定位";
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
      $("gps-text").textContent = "无法定位：" + (err.code === 1 ? "请允许本应用使用位置信息" : err.message);
      $("gps-card").classList.add("is-bad");
    }, { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 });
  }

  function renderFix() {
    if (!fix) return;
    const accuracy = Math.round(fix.accuracy || 0);
    $("gps-text").textContent = fix.lat.toFixed(6) + ", " + fix.lng.toFixed(6) + " · 精度 ±" + accuracy + " 米";
    $("gps-card").classList.toggle("is-bad", accuracy > 100);
    $("gps-card").dataset.accuracy = String(accuracy);
  }

  function currentFix() {
    return new Promise((resolve) => {
      if (!navigator.geolocation) return resolve(fix);
      navigator.geolocation.getCurrentPosition((pos) => {
        fix = { lat: pos.coords.latitude, lng: pos.coords.longitude, accuracy: pos.coords.accuracy,
          speed: pos.coords.speed, at: new Date(pos.timestamp || Date.now()) };
        renderFix();
        resolve(fix);
      }, () => resolve(fix), { enableHighAccuracy: true, maximumAge: 5000, timeout: 8000 });
    });
  }

  // --- the offline queue (IndexedDB keeps photos as blobs) ----------------------------------

  const DB_NAME = "fengqiao-worker";
  let dbPromise = null;

  function idb() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const open = indexedDB.open(DB_NAME, 1);
        open.onupgradeneeded = () => open.result.createObjectStore("reports", { keyPath: "key" });
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
    }
    return dbPromise;
  }

  async function store(mode, fn) {
    const db = await idb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction("reports", mode);
      const request = fn(tx.objectStore("reports"));
      tx.oncomplete = () => resolve(request ? request.result : undefined);
      tx.onerror = () => reject(tx.error);
    });
  }

  const queued = () => store("readonly", (s) => s.getAll());
  const enqueue = (item) => store("readwrite", (s) => s.put(item));
  const dequeue = (key) => store("readwrite", (s) => s.delete(key));

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  async function renderQueue() {
    const items = await queued();
    $("queue-card").hidden = items.length === 0;
    $("queue-count").textContent = String(items.length);
    FQ.fill($("queue-list"), ...items.map((item) => h("li", { class: item.error ? "failed" : "" },
      h("span", {}, (item.alarm ? "【报警】" : "") + item.label + " · " + short(item.createdAt)),
      item.error ? h("span", {}, item.error, " ", h("button", { type: "button", class: "btn btn-small",
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
    item.photos.forEach((blob, i) => body.append("photos", blob, "photo-" + i + ".jpg"));
    return api("/events", { method: "POST", body: body, headers: headers, noRedirect: true });
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

  function onPhotos() {
    photos = Array.from($("report-photos").files || []);
    FQ.fill($("report-thumbs"), ...photos.map((file) => h("img", { src: URL.createObjectURL(file), alt: file.name })));
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
    const answers = FQIntake.answers();
    if (Object.keys(answers).length) fields.answers = answers;
    const item = { key: newKey(), createdAt: new Date().toISOString(), fields: fields,
      photos: photos.slice(), label: minor ? minor.name_zh : category };
    await enqueue(item); // first on the phone, then to the server: nothing is lost offline
    form.reset();
    photos = [];
    FQ.fill($("report-thumbs"), );
    FQ.fill($("minor-chips"), );
    FQIntake.clearQuestions();
    for (const chip of $("major-chips").children) chip.setAttribute("aria-checked", "false");
    if (!navigator.onLine) toast("网络不可用，已保存，恢复后自动发送");
    await renderQueue();
    await flush();
  }

  async function loadMine() {
    try {
      const page = await api("/events" + FQ.query({ reporter: USER_ID, size: 10 }));
      FQ.fill($("my-reports"), ...page.items.map((e) => h("li", { class: "task" },
        h("div", {}, FQ.statusBadge(e.status), " ", e.urgent ? h("span", { class: "badge-urgent" }, "紧急") : null,
          " ", h("a", { href: "/events/" + e.id }, e.title)),
        h("div", { class: "muted" }, e.code + " · " + short(e.created_at)))));
    } catch (_err) { /* offline */ }
  }

  // --- verification tasks -------------------------------------------------------------------

  async function loadTasks() {
    let page;
    try {
      page = await api("/events" + FQ.query({ task: "verify", size: 50 }));
    } catch (_err) {
      return;
    }
    $("task-count").textContent = page.items.length ? page.items.length + " 件" : "";
    $("tasks-badge").hidden = page.items.length === 0;
    $("tasks-badge").textContent = String(page.items.length);
    FQ.fill($("task-list"), ...(page.items.length ? page.items.map(task)
      : [h("li", { class: "muted" }, "没有待核查的事件")]));
  }

  function task(e) {
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    const note = h("textarea", { name: "note", maxlength: 2000, placeholder: "核查意见（退回时必填）" });
    const thumbs = h("div", { class: "thumbs" });
    const picked = h("span", { class: "muted" }, "未选择");
    const file = h("input", { type: "file", accept: "image/*", capture: "environment", name: "photos", hidden: true,
      onchange: () => { picked.textContent = file.files.length ? "已选 " + file.files.length + " 张" : "未选择"; } });
    const form = h("form", { class: "task-form" },
      h("label", { class: "photo-pick btn btn-secondary btn-small" }, "拍摄现场照片", file), " ", picked, note, error);
    const item = h("li", { class: "task", dataset: { id: e.id } },
      h("h3", {}, e.title), h("div", { class: "muted" }, e.code + " · " + (e.owner_unit ? e.owner_unit.name : "")),
      e.result ? h("p", {}, "处置结果：" + e.result) : null, thumbs, form,
      h("div", { class: "buttons" },
        h("button", { type: "button", class: "btn btn-primary", dataset: { ok: "true" }, onclick: () => verify(e, true, item) }, "核查通过"),
        h("button", { type: "button", class: "btn btn-secondary", dataset: { ok: "false" }, onclick: () => verify(e, false, item) }, "退回返工")));
    api("/events/" + e.id).then((detail) => FQ.fill(thumbs, ...detail.attachments.map((a) =>
      h("a", { href: a.url, target: "_blank" }, h("img", { src: a.url, alt: a.kind }))))).catch(() => {});
    return item;
  }

  async function verify(e, ok, item) {
    const form = item.querySelector("form");
    FQ.clearErrors(form);
    const note = form.querySelector("textarea").value.trim();
    const buttons = item.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const fresh = await api("/events/" + e.id);
      const body = { action: "verify", version: fresh.version, ok: ok, note: note };
      const file = form.querySelector("input[type=file]");
      if (file.files.length) {
        const upload = new FormData();
        for (const f of file.files) upload.append("photos", f);
        const stored = await api("/events/" + e.id + "/attachments?kind=after", { method: "POST", body: upload });
        body.attachment_ids = stored.map((a) => a.id);
        body.version = (await api("/events/" + e.id)).version;
      }
      const done = await api("/events/" + e.id + "/transitions", { method: "POST", json: body });
      toast(ok ? "核查通过，事件已结案：" + done.code : "已退回责任单位返工", "ok");
      loadTasks();
    } catch (error) {
      FQ.showErrors(form, error);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  // --- messages -----------------------------------------------------------------------------

  async function loadMessages() {
    let data;
    try {
      data = await api("/me/notifications?limit=50");
    } catch (_err) {
      return;
    }
    $("messages-badge").hidden = !data.unread;
    $("messages-badge").textContent = String(data.unread);
    FQ.fill($("message-list"), ...(data.items.length ? data.items.map((n) => h("li", {
      class: "message" + (n.read_at ? "" : " is-unread"),
      onclick: async (ev) => {
        ev.currentTarget.classList.remove("is-unread");
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
    if (!last || !fix) return Infinity;
    const rad = Math.PI / 180;
    const x = (fix.lng - last.lng) * rad * Math.cos(((fix.lat + last.lat) / 2) * rad);
    const y = (fix.lat - last.lat) * rad;
    return Math.sqrt(x * x + y * y) * 6371008.8;
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
      api("/grids/geojson").then((g) => L.geoJSON(g, { style: { color: "#b22222", weight: 1.5,
        fillOpacity: 0.05 }, interactive: false }).addTo(trackMap)).catch(() => {});
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
    const source = new EventSource("/api/v1/me/notifications/stream");
    source.addEventListener("notification", (e) => {
      const n = JSON.parse(e.data);
      toast("新消息：" + n.title);
      const badge = $("messages-badge");
      badge.hidden = false;
      badge.textContent = String(Number(badge.textContent || 0) + 1);
      if (!$("view-messages").hidden) loadMessages();
      if (!$("view-tasks").hidden) loadTasks();
    });
  }

  // --- start --------------------------------------------------------------------------------

  for (const button of document.querySelectorAll(".tab-bar button")) {
    button.addEventListener("click", () => show(button.dataset.tab));
  }
  $("report-form").addEventListener("submit", report);
  $("report-photos").addEventListener("change", onPhotos);
  $("gps-refresh").addEventListener("click", () => currentFix());
  $("patrol-toggle").addEventListener("click", togglePatrol);
  $("alarm-button").addEventListener("click", alarm);
  $("alarm-form").addEventListener("submit", (e) => {
    if (e.submitter && e.submitter.value === "confirm") confirmAlarm(e);
  });
  $("read-all").addEventListener("click", async () => {
    await api("/me/notifications/read-all", { method: "POST" }).catch(() => {});
    loadMessages();
  });
  window.addEventListener("online", netState);
  window.addEventListener("offline", netState);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/m/sw.js", { scope: "/m/" }).catch(() => {});
  }
  $("checklist-form").addEventListener("submit", async (e) => {
    if (e.submitter && e.submitter.value === "confirm") FQIntake.submitChecklist(e, fix || (await currentFix()));
  });
  document.addEventListener("fq:reported", () => loadMine());
  watchGps();
  FQIntake.load(renderMajors);
  loadClasses();
  renderQueue().then(flush);
  loadMine();
  loadTasks();
  loadMessages();
  liveMessages();
  netState();
  const start = location.hash.slice(1);
  show(["report", "tasks", "messages", "patrol"].includes(start) ? start : "report");
  app.dataset.state = "ready";
})();
