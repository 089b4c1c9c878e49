// Where the report is, in words: the phone's GPS fix becomes "柯桥街道 寿堰社区 第1网格 · 近 柯桥中学"
// (GET /api/v1/search/reverse) instead of raw coordinates, on a small map whose marker the worker
// drags (or taps) to correct the point; the report is filed at the corrected point.
(function () {
  "use strict";

  const { api } = FQ;
  const box = document.getElementById("report-map");
  if (!box) return;
  const ASK_AGAIN_M = 20;
  let map = null;
  let marker = null;
  let chosen = null; // the point the worker put the marker on, or null: the GPS fix
  let described = null; // {lat, lng, text, bad} of the last words asked for
  let seq = 0;
  let say = () => {};
  let accuracy = null;

  function render() {
    if (!described) return;
    const tail = chosen ? " · 已手动校正" : accuracy != null ? " · 精度 ±" + accuracy + " 米" : "";
    say(described.text + tail, described.bad || (!chosen && accuracy > 100));
    box.dataset.place = described.bad ? "" : described.text;
  }

  function ensureMap(point) {
    if (map) return;
    map = FQWorker.basemap(FQ.leafletMap(box, { attributionControl: false }));
    FQWorker.drawGrids(map);
    marker = L.marker([point.lat, point.lng], { draggable: true, title: "上报位置", alt: "上报位置" }).addTo(map);
    marker.on("dragend", () => choose(marker.getLatLng()));
    map.on("click", (e) => choose(e.latlng));
    map.setView([point.lat, point.lng], 16);
  }

  async function describe(point) {
    const mine = ++seq;
    described = { lat: point.lat, lng: point.lng, text: "正在查询地名…", bad: false };
    render();
    let text;
    let bad = false;
    try {
      text = (await api("/search/reverse" + FQ.query({ lat: point.lat, lng: point.lng }), { noRedirect: true })).text;
    } catch (error) {
      text = error.status === 0 ? "已定位（离线，暂无地名）" : FQ.problemText(error);
      bad = error.status !== 0;
    }
    if (mine !== seq) return;
    described = { lat: point.lat, lng: point.lng, text: text, bad: bad };
    render();
  }

  function moveTo(point) {
    ensureMap(point);
    map.invalidateSize();
    marker.setLatLng([point.lat, point.lng]);
    map.panTo([point.lat, point.lng]);
  }

  // worker.js calls this with every GPS fix (and its way of showing the text).
  function onFix(fix, metresOff, show) {
    say = show;
    accuracy = metresOff;
    if (chosen) return render(); // the worker's correction stands until the report is sent
    moveTo(fix);
    if (described && !described.bad && FQWorker.metres(described, fix) < ASK_AGAIN_M) return render();
    describe(fix);
  }

  function choose(latlng) {
    chosen = { lat: latlng.lat, lng: latlng.lng };
    moveTo(chosen);
    describe(chosen);
  }

  function reset() {
    chosen = null;
    described = null;
    const fix = FQWorker.position();
    if (fix) onFix(fix, accuracy, say);
  }

  // 重新定位 gives the point back to the GPS at once (the marker returns to the last fix and its
  // words are asked again); worker.js asks for a fresh fix on the same click, which follows.
  const refresh = document.getElementById("gps-refresh");
  if (refresh) refresh.addEventListener("click", reset);

  window.FQWorkerPlace = { onFix: onFix, point: () => chosen, reset: reset };
  // A fix that came while this script was still loading was shown as coordinates: in words now.
  if (window.FQWorker) FQWorker.showFix();
})();
