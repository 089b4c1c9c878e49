// 随手拍, the residents' app (/r/): pick a class (the public ones), take or choose photos, place
// the point on a map (GPS or dragged; its address from GET /api/v1/search/reverse), describe.
// A report is kept on the phone first (IndexedDB, with its idempotency key) and sent when the
// network is there, so nothing is lost offline and a retry never files twice; the receipt
// shows the event's code. With a class and a point chosen, the open reports of that class
// nearby are offered: 我也遇到 counts the resident on one instead of filing it again.
(function () {
  "use strict";

  const { api, h, toast } = FQ;
  const $ = (id) => document.getElementById(id);
  const app = $("r-app");
  const USER_ID = Number(app.dataset.userId);
  // Only when the filing API takes the field (another part adds it): see resident_pages.py.
  const NOTIFY_SMS = app.dataset.notifySms === "1";
  const MAX_PHOTOS = 6;
  const MAX_SIDE = 2560; // a big photo is shrunk to this longer side before it is kept
  const SHRINK_ABOVE = 3 * 1024 * 1024;
  const form = $("r-form");

  let classes = { majors: [], categories: [] };
  let photos = []; // {blob, origin, url}
  let point = null; // {lat, lng}
  let map = null;
  let marker = null;
  let showReceiptFor = null; // the key of the report just submitted: its receipt is shown

  function toLogin() {
    location.assign("/r/login?reason=expired&next=" + encodeURIComponent("/r/"));
  }

  function call(path, options) {
    return api(path, Object.assign({ noRedirect: true }, options || {})).catch((error) => {
      if (error.status === 401) toLogin();
      throw error;
    });
  }

  // --- classes ----------------------------------------------------------------------------

  async function loadClasses() {
    try {
      classes = await call("/public/report-classes");
      localStorage.setItem("fq.r.classes", JSON.stringify(classes));
    } catch (_err) {
      classes = JSON.parse(localStorage.getItem("fq.r.classes") || '{"majors":[],"categories":[]}');
    }
    FQ.fill($("r-majors"), ...classes.majors.map((m) => h("button", {
      type: "button", class: "r-chip", role: "radio", "aria-checked": "false", dataset: { code: m.code },
      onclick: () => pickMajor(m.code),
    }, m.name_zh)));
  }

  function check(group, code) {
    for (const chip of group.children) chip.setAttribute("aria-checked", String(chip.dataset.code === code));
  }

  function pickMajor(code) {
    check($("r-majors"), code);
    $("r-category").value = "";
    FQ.fill($("r-minors"), ...classes.categories.filter((c) => c.major_code === code).map((c) => h("button", {
      type: "button", class: "r-chip", role: "radio", "aria-checked": "false", dataset: { code: c.code },
      onclick: () => { check($("r-minors"), c.code); $("r-category").value = c.code; loadNearby(); },
    }, c.name_zh)));
    loadNearby();
  }

  // --- photos -----------------------------------------------------------------------------

  async function shrink(file) {
    if (file.size <= SHRINK_ABOVE || !window.createImageBitmap) return file;
    try {
      const bitmap = await createImageBitmap(file);
      const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      const canvas = h("canvas", { width: Math.round(bitmap.width * scale), height: Math.round(bitmap.height * scale) });
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return await new Promise((resolve) => canvas.toBlob((b) => resolve(b || file), "image/jpeg", 0.88));
    } catch (_err) {
      return file; // the server says why when it cannot read it
    }
  }

  async function addPhotos(input, origin) {
    const files = Array.from(input.files || []);
    input.value = "";
    for (const file of files) {
      if (photos.length >= MAX_PHOTOS) {
        toast("最多添加 " + MAX_PHOTOS + " 张照片", "error");
        break;
      }
      const blob = await shrink(file);
      photos.push({ blob: blob, origin: origin, url: URL.createObjectURL(blob) });
    }
    renderPhotos();
  }

  function renderPhotos() {
    FQ.fill($("r-thumbs"), ...photos.map((p, i) => h("li", {},
      h("img", { src: p.url, alt: "照片 " + (i + 1) }),
      h("button", { type: "button", class: "r-thumb-remove", "aria-label": "删除照片 " + (i + 1),
        onclick: () => { URL.revokeObjectURL(p.url); photos.splice(i, 1); renderPhotos(); } }, "×"))));
  }

  // --- the point on the map ---------------------------------------------------------------

  function startMap() {
    const center = [Number(app.dataset.lat) || 30.08, Number(app.dataset.lng) || 120.5];
    map = FQ.leafletMap("r-map", { attributionControl: false }).setView(center, 13);
    FQ.basemap.add(map, { switcher: false });
    marker = L.marker(center, { draggable: true, title: "问题位置", alt: "问题位置" });
    marker.on("dragend", () => place(marker.getLatLng(), false));
    map.on("click", (e) => place(e.latlng, false));
  }

  let placing = 0;

  async function place(latlng, fromGps) {
    point = { lat: latlng.lat, lng: latlng.lng };
    if (!map.hasLayer(marker)) marker.addTo(map);
    marker.setLatLng([point.lat, point.lng]);
    if (fromGps) map.setView([point.lat, point.lng], 17);
    const status = $("r-place");
    status.textContent = "正在识别地址…";
    status.classList.remove("is-bad");
    const mine = ++placing;
    loadNearby();
    try {
      const found = await call("/search/reverse" + FQ.query({ lat: point.lat, lng: point.lng }));
      if (mine !== placing) return;
      status.textContent = found.text;
      const address = $("r-address");
      if (!address.value || address.dataset.auto === "1") {
        address.value = found.near && found.near.name ? found.near.name : found.village;
        address.dataset.auto = "1";
      }
    } catch (error) {
      if (mine !== placing) return;
      status.textContent = error.status === 0 ? "离线：已记下位置，恢复网络后发送" : FQ.problemText(error);
      status.classList.toggle("is-bad", error.status !== 0);
    }
  }

  function locate() {
    if (!navigator.geolocation) {
      toast("无法定位，请在地图上点选位置", "error");
      return;
    }
    $("r-place").textContent = "正在定位…";
    navigator.geolocation.getCurrentPosition(
      (p) => place({ lat: p.coords.latitude, lng: p.coords.longitude }, true),
      () => { $("r-place").textContent = "无法定位，请拖动标记或点选问题所在位置"; },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
    );
  }

  // --- nearby reports and 我也遇到 ----------------------------------------------------------

  let nearbyAsked = 0;

  async function loadNearby() {
    const category = $("r-category").value;
    const box = $("r-nearby");
    if (!category || !point || !navigator.onLine) {
      box.hidden = true;
      return;
    }
    const mine = ++nearbyAsked;
    try {
      const found = await call("/public/reports/nearby" + FQ.query({ lat: point.lat, lng: point.lng, category: category }));
      if (mine !== nearbyAsked) return;
      box.hidden = found.items.length === 0;
      FQ.fill($("r-nearby-list"), ...found.items.map(nearbyItem));
    } catch (_err) {
      if (mine === nearbyAsked) box.hidden = true;
    }
  }

  function nearbyItem(item) {
    const count = h("span", { class: "r-metoo-count" }, item.me_too + " 人也遇到");
    const button = h("button", { type: "button", class: "r-btn r-small r-metoo", disabled: item.mine },
      item.mine ? "已在其中" : "我也遇到");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const done = await call("/public/reports/" + encodeURIComponent(item.code) + "/me-too", { method: "POST" });
        count.textContent = done.me_too + " 人也遇到";
        button.textContent = "已在其中";
        toast("已记录，感谢您的反馈：" + item.code, "ok");
      } catch (error) {
        button.disabled = false;
        toast(FQ.problemText(error), "error");
      }
    });
    return h("li", { class: "r-nearby-item", dataset: { code: item.code } },
      h("div", { class: "r-nearby-head" }, h("strong", {}, item.category_name),
        h("span", { class: "r-status r-status-" + item.status }, item.status_zh)),
      h("div", { class: "r-muted" }, "约 " + item.distance_m + " 米 · " + item.reported_on + " · 编号 " + item.code),
      h("div", { class: "r-nearby-foot" }, count, button));
  }

  // --- the offline queue (IndexedDB keeps photos as blobs: FQ.offlineQueue) -------------------

  const offline = FQ.offlineQueue("fengqiao-resident");
  const queued = async () => (await offline.all()).filter((i) => i.user === USER_ID);
  const enqueue = offline.put;
  const dequeue = offline.remove;

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  async function renderQueue() {
    const items = await queued();
    $("r-queue").hidden = items.length === 0;
    $("r-queue-count").textContent = String(items.length);
    FQ.fill($("r-queue-list"), ...items.map((item) => h("li", { class: item.error ? "failed" : "" },
      h("span", {}, item.label + " · " + FQ.short(item.createdAt)), " ",
      item.error ? h("span", { class: "r-error" }, item.error) : h("span", { class: "r-muted" }, "待发送"),
      item.error ? h("button", { type: "button", class: "r-btn r-btn-ghost r-small",
        onclick: async () => { await dequeue(item.key); renderQueue(); } }, "删除") : null)));
  }

  function send(item) {
    const headers = { "Idempotency-Key": item.key };
    if (!item.photos.length) return call("/events", { method: "POST", json: item.fields, headers: headers });
    const body = new FormData();
    for (const [key, value] of Object.entries(item.fields)) body.append(key, String(value));
    item.photos.forEach((p, i) => body.append("photos", p.blob, "photo-" + i + ".jpg"));
    item.photos.forEach((p) => body.append("origin", p.origin));
    return call("/events", { method: "POST", body: body, headers: headers });
  }

  let flushing = false;

  // Oldest first. A network failure keeps the item for the next try (the same key: a report
  // that did arrive comes back as the first event); a refusal is kept with its reason.
  async function flush() {
    if (flushing || !navigator.onLine) return;
    flushing = true;
    try {
      const items = (await queued()).filter((i) => !i.error).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      for (const item of items) {
        try {
          const created = await send(item);
          await dequeue(item.key);
          if (item.key === showReceiptFor) receipt(created.code);
          else toast("已上报：" + created.code, "ok");
        } catch (error) {
          if (error.status >= 400 && error.status < 500 && ![401, 408, 429].includes(error.status)) {
            item.error = FQ.problemText(error);
            await enqueue(item);
            if (item.key === showReceiptFor) {
              $("r-form-error").textContent = item.error;
              form.hidden = false;
            }
          } else {
            break; // offline or the server is busy: try again later
          }
        }
      }
    } finally {
      flushing = false;
      renderQueue();
    }
  }

  // --- filing and the receipt ---------------------------------------------------------------

  function problem(field, text) {
    const slot = form.querySelector("[data-error-for='" + field + "']") || $("r-form-error");
    slot.textContent = text;
    slot.scrollIntoView({ block: "center" });
  }

  async function submit(e) {
    e.preventDefault();
    form.querySelectorAll(".r-error").forEach((n) => { n.textContent = ""; });
    const category = $("r-category").value;
    if (!category) return problem("category", "请选择问题分类（大类和小类）");
    if (!point) return problem("lat", "请在地图上选择问题位置，或点「定位到我」");
    const minor = classes.categories.find((c) => c.code === category);
    const fields = { source: "resident", category: category, lat: point.lat, lng: point.lng,
      description: $("r-description").value.trim(), address: $("r-address").value.trim() };
    if (NOTIFY_SMS) fields.notify_sms = $("r-notify-sms").checked;
    const item = { key: newKey(), user: USER_ID, createdAt: new Date().toISOString(), fields: fields,
      photos: photos.map((p) => ({ blob: p.blob, origin: p.origin })), label: minor ? minor.name_zh : category };
    $("r-submit").disabled = true;
    try {
      await enqueue(item); // first on the phone, then to the server: nothing is lost offline
      showReceiptFor = item.key;
      if (!navigator.onLine) {
        receipt(null);
        await renderQueue();
      } else {
        await flush();
        if ((await queued()).some((i) => i.key === item.key && !i.error)) receipt(null); // kept for later
      }
    } finally {
      $("r-submit").disabled = false;
    }
  }

  function receipt(code) {
    form.hidden = true;
    $("r-receipt").hidden = false;
    $("r-receipt-title").textContent = code ? "上报成功" : "已保存，待发送";
    $("r-receipt-code").textContent = code || "待发送";
    $("r-receipt-text").textContent = code
      ? "我们会尽快受理，处理进展可在「我的上报」查看。"
      : "网络不可用，上报已保存在手机上，恢复网络后自动发送并生成编号。";
    if (code) showReceiptFor = null;
    window.scrollTo(0, 0);
  }

  function reset() {
    form.reset();
    form.hidden = false;
    $("r-receipt").hidden = true;
    $("r-category").value = "";
    check($("r-majors"), null);
    FQ.fill($("r-minors"));
    photos.forEach((p) => URL.revokeObjectURL(p.url));
    photos = [];
    renderPhotos();
    $("r-address").dataset.auto = "";
    $("r-nearby").hidden = true;
    showReceiptFor = null;
  }

  // --- start ----------------------------------------------------------------------------------

  $("r-camera").addEventListener("change", () => addPhotos($("r-camera"), "camera"));
  $("r-album").addEventListener("change", () => addPhotos($("r-album"), "album"));
  $("r-locate").addEventListener("click", locate);
  $("r-address").addEventListener("input", () => { $("r-address").dataset.auto = ""; });
  $("r-again").addEventListener("click", reset);
  form.addEventListener("submit", submit);
  if (!NOTIFY_SMS) $("r-notify-sms").closest("label").hidden = true;
  window.addEventListener("online", () => { flush(); loadNearby(); });
  setInterval(flush, 30000);
  startMap();
  loadClasses();
  renderQueue().then(flush);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/r/sw.js", { scope: "/r/" }).catch(() => {});

  // What the browser tests (and other tabs) may ask: the queue and a point set from outside.
  window.FQResident = { flush: flush, queued: queued, place: (lat, lng) => place({ lat: lat, lng: lng }, true) };
})();
