// 实时视频: cameras played in the page from the district's media gateway, up to four at once in a
// grid. A camera's `playback_url` and `playback_kind` come from the API (docs/video.md): HLS
// plays through hls.js (Media Source Extensions) or natively where the browser can, WHEP through
// an RTCPeerConnection. A camera that does not play says why in its tile, in Chinese; the page
// goes on working.
//
//   FQ.video.grid(container, cameras, {max: 4})  → {add, close, clear, size}
//   FQ.video.play(camera)   adds one camera to the page's own video panel (#video-dock)
(function () {
  "use strict";

  const { h } = FQ;
  const MAX = 4;
  const CONNECT_MS = 20000; // no first frame by then: the gateway does not answer
  const STALL_MS = 20000; // a playing stream whose time stands still this long has stopped
  const WHEP_ICE_MS = 2000; // how long a WHEP offer waits for its ICE candidates

  // Why a camera does not play, as its tile says it.
  const WHY = {
    unconfigured: "未配置播放地址",
    format: "格式不支持",
    unreachable: "无法连接",
    ended: "流已结束",
    stalled: "信号中断",
    error: "播放出错",
  };

  function distanceText(metres) {
    if (typeof metres !== "number" || !isFinite(metres)) return null;
    return metres < 1000 ? Math.round(metres) + " 米" : (metres / 1000).toFixed(1) + " 公里";
  }

  // --- one tile -------------------------------------------------------------------------------

  function makeTile(camera, onClose) {
    // The browser's own controls (in its language): sound, full screen.
    const video = h("video", { autoplay: true, playsinline: true, muted: true, controls: true });
    video.muted = true; // autoplay needs it; a person unmutes with the controls
    const message = h("div", { class: "video-message" }, "正在连接…");
    const distance = distanceText(camera.distance_m);
    const node = h("div", { class: "video-tile", dataset: { code: camera.code || "", state: "connecting" } },
      h("div", { class: "video-head" },
        camera.status ? FQ.cameraBadge(camera.status) : null,
        h("strong", { class: "video-name", title: camera.code || "" }, camera.name || "未命名摄像机"),
        distance ? h("span", { class: "muted video-distance" }, distance) : null,
        h("button", { type: "button", class: "video-close", title: "关闭此路视频", onclick: onClose }, "关闭")),
      h("div", { class: "video-screen" }, video, message));
    return { node, video, message, camera, startedAt: performance.now(), cleanups: [], timer: null };
  }

  function stop(tile) {
    clearInterval(tile.timer);
    for (const cleanup of tile.cleanups.splice(0)) {
      try { cleanup(); } catch (_err) { /* already gone */ }
    }
    tile.video.removeAttribute("src");
    tile.video.srcObject = null;
  }

  function fail(tile, why, detail) {
    if (tile.node.dataset.state === "error" || tile.node.dataset.state === "closed") return;
    stop(tile);
    tile.node.dataset.state = "error";
    tile.node.dataset.reason = why;
    tile.message.hidden = false;
    tile.message.textContent = WHY[why] + (detail ? "：" + detail : "");
  }

  // The first frame with a size, then a watchdog: no frame in time, or time standing still.
  function watch(tile) {
    const video = tile.video;
    let lastTime = -1;
    let lastMove = performance.now();
    const shown = () => {
      if (tile.node.dataset.state !== "connecting" || !video.videoWidth) return;
      tile.node.dataset.state = "playing";
      tile.node.dataset.firstFrameMs = String(Math.round(performance.now() - tile.startedAt));
      tile.message.hidden = true;
    };
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(shown);
    video.addEventListener("loadeddata", shown);
    video.addEventListener("playing", shown);
    video.addEventListener("ended", () => fail(tile, "ended"));
    tile.timer = setInterval(() => {
      const now = performance.now();
      const state = tile.node.dataset.state;
      if (state === "connecting" && now - tile.startedAt > CONNECT_MS) {
        fail(tile, "unreachable", "超时无画面");
      } else if (state === "playing") {
        if (video.currentTime !== lastTime) {
          lastTime = video.currentTime;
          lastMove = now;
        } else if (!video.paused && now - lastMove > STALL_MS) {
          fail(tile, "stalled");
        }
      }
    }, 1000);
  }

  // --- HLS ------------------------------------------------------------------------------------

  const LOAD_ERRORS = ["manifestLoadError", "manifestLoadTimeOut", "levelLoadError", "levelLoadTimeOut",
    "fragLoadError", "fragLoadTimeOut", "keyLoadError", "keyLoadTimeOut"];
  const FORMAT_ERRORS = ["manifestParsingError", "manifestIncompatibleCodecsError", "levelParsingError",
    "bufferIncompatibleCodecsError", "bufferAddCodecError", "levelEmptyError"];

  function hlsReason(data) {
    if (LOAD_ERRORS.includes(data.details)) {
      const code = data.response && data.response.code;
      if (code === 404 || code === 410) return ["unreachable", "网关上没有这路视频"];
      if (code === 401 || code === 403) return ["unreachable", "网关拒绝访问"];
      if (!code) return ["unreachable", "网关无应答"];
      return ["unreachable", "网关出错"];
    }
    if (FORMAT_ERRORS.includes(data.details)) return ["format", "浏览器无法解码此视频"];
    return ["error", null];
  }

  function playHls(tile, url) {
    const video = tile.video;
    const Hls = window.Hls;
    if (Hls && Hls.isSupported()) {
      // No worker: hls.js would start it from a blob: address, which the page's policy refuses.
      // A live stream has no end: the controls say so instead of a running-out time line.
      const hls = new Hls({ enableWorker: false, lowLatencyMode: true, liveDurationInfinity: true,
        manifestLoadingMaxRetry: 1,
        levelLoadingMaxRetry: 2, fragLoadingMaxRetry: 2 });
      let recovered = false;
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
          recovered = true; // one decoder hiccup is retried before the tile gives up
          hls.recoverMediaError();
          return;
        }
        const [why, detail] = hlsReason(data);
        fail(tile, why, detail);
      });
      tile.cleanups.push(() => hls.destroy());
      hls.loadSource(url);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.addEventListener("error", () => fail(tile, "unreachable", "网关无应答或格式不支持"));
      video.src = FQ.safeUrl(url);
    } else {
      fail(tile, "format", "浏览器不能播放 HLS");
      return;
    }
    video.play().catch(() => { /* autoplay waits for the stream; errors arrive as events */ });
  }

  // --- WebRTC (WHEP) --------------------------------------------------------------------------

  function gathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, WHEP_ICE_MS);
    });
  }

  async function playWhep(tile, url) {
    if (!window.RTCPeerConnection) {
      fail(tile, "format", "浏览器不支持网络实时通信");
      return;
    }
    const pc = new RTCPeerConnection();
    const aborter = new AbortController();
    let resource = null;
    tile.cleanups.push(() => {
      aborter.abort();
      pc.close();
      // Tell the gateway the session is over (WHEP: DELETE on the session's resource).
      if (resource) fetch(resource, { method: "DELETE" }).catch(() => {});
    });
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const stream = new MediaStream();
    pc.addEventListener("track", (event) => {
      stream.addTrack(event.track);
      tile.video.srcObject = stream;
      tile.video.play().catch(() => {});
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed") fail(tile, "unreachable", "媒体通道建立失败");
    });
    let response;
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/sdp" },
        body: pc.localDescription.sdp, signal: aborter.signal });
    } catch (_err) {
      fail(tile, "unreachable", "网关无应答");
      return;
    }
    if (!response.ok) {
      fail(tile, "unreachable", response.status === 404 ? "网关上没有这路视频" : "网关拒绝播放");
      return;
    }
    const location = response.headers.get("Location");
    if (location) resource = new URL(location, url).href;
    try {
      await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    } catch (_err) {
      fail(tile, "format", "网关的应答无法识别");
    }
  }

  // --- choosing the player --------------------------------------------------------------------

  function play(tile) {
    const camera = tile.camera;
    let url = typeof camera.playback_url === "string" ? camera.playback_url.trim() : "";
    let kind = camera.playback_kind;
    if (!url) {
      fail(tile, "unconfigured");
      return;
    }
    if (/^whep\+/i.test(url)) {
      url = url.slice(5);
      kind = "whep";
    }
    if (!/^https?:\/\//i.test(url)) {
      fail(tile, "format", "播放地址应为网页地址");
      return;
    }
    watch(tile);
    if (kind === "whep") playWhep(tile, url);
    else if (kind === "hls" || (!kind && /\.m3u8(\?|$)/i.test(url))) playHls(tile, url);
    else fail(tile, "format");
  }

  // --- the grid -------------------------------------------------------------------------------

  function grid(container, cameras, options) {
    const opts = options || {};
    const max = Math.max(1, Math.min(MAX, Number(opts.max) || MAX));
    // Called again on the same element (the wall's latest alarm): the old players stop first.
    if (container.fqVideo) container.fqVideo.clear();
    container.classList.add("video-grid");
    const tiles = [];

    function layout() {
      container.dataset.count = String(tiles.length);
      if (opts.onchange) opts.onchange(tiles.length);
    }

    function remove(tile) {
      const index = tiles.indexOf(tile);
      if (index < 0) return;
      tiles.splice(index, 1);
      stop(tile);
      tile.node.dataset.state = "closed";
      tile.node.remove();
      layout();
    }

    function add(camera) {
      if (!camera) return null;
      const same = camera.code ? tiles.find((t) => t.camera.code === camera.code) : null;
      if (same) return same;
      while (tiles.length >= max) remove(tiles[0]); // the oldest makes room
      const tile = makeTile(camera, () => remove(tile));
      tiles.push(tile);
      container.append(tile.node);
      layout();
      play(tile);
      return tile;
    }

    const controller = {
      add,
      close(code) { tiles.filter((t) => t.camera.code === code).forEach(remove); },
      clear() { tiles.slice().forEach(remove); },
      get size() { return tiles.length; },
    };
    container.fqVideo = controller;
    (Array.isArray(cameras) ? cameras : []).slice(0, max).forEach(add);
    return controller;
  }

  // The page's own video panel: #video-dock where the page has one, else a floating one.
  let docked = null;

  function dock() {
    if (docked) return docked;
    let panel = document.getElementById("video-dock");
    if (!panel) {
      panel = h("section", { id: "video-dock", class: "video-dock is-floating", hidden: true });
      document.body.append(panel);
    }
    const tiles = h("div", { class: "video-grid" });
    FQ.fill(panel, h("div", { class: "video-dock-head" }, h("strong", {}, "实时视频"),
      h("span", { class: "muted" }, "最多同时 4 路"),
      h("button", { type: "button", class: "btn btn-small video-close-all", onclick: () => docked.clear() }, "全部关闭")),
      tiles);
    docked = grid(tiles, [], { max: MAX, onchange: (count) => { panel.hidden = count === 0; } });
    return docked;
  }

  function playOne(camera) {
    return dock().add(camera);
  }

  // A 全部播放 button for a list of nearby cameras: the first four, nearest first.
  function playAllButton(cameras) {
    if (!cameras || !cameras.length) return null;
    return h("button", { type: "button", class: "btn btn-small video-play-all", onclick: () => {
      const panel = dock();
      panel.clear();
      cameras.slice(0, MAX).forEach((c) => panel.add(c));
    } }, "全部播放");
  }

  FQ.video = { grid, play: playOne, dock, playAllButton, WHY };
})();
