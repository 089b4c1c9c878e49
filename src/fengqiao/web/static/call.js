// FQ.call: one-click video calls. The command room rings a worker or handler (FQ.call.start,
// from the map's worker marker, the event card's nearest workers and the alarm dialog); the
// phone app (/m/) rings full screen with accept and decline. Signalling: a WebSocket that
// receives (/api/v1/calls/ws) and POSTs that act; media: FQ.rtc. Every refusal is the server's
// problem+json, shown in Chinese in the call window, and the page goes on working.
(function () {
  "use strict";

  const FQ = window.FQ;
  const { api, h, problemText } = FQ;
  // Why a call ended, in the words of web/labels.py (callOutcomes).
  const ended = (outcome) => FQ.label("callOutcomes", outcome);
  const CLOSE_AFTER_MS = 2500;

  // --- signalling -----------------------------------------------------------------------------

  let socket = null;
  let conn = null;
  let connecting = null;
  let retry = 1000;
  let keep = false; // reconnect when the socket drops (the phone stays reachable)
  let config = null;

  function connect() {
    if (conn && socket && socket.readyState === WebSocket.OPEN) return Promise.resolve(conn);
    if (connecting) return connecting;
    connecting = new Promise((resolve, reject) => {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      const ws = new WebSocket(scheme + location.host + FQ.API + "/calls/ws");
      socket = ws;
      ws.addEventListener("message", (e) => {
        let message;
        try { message = JSON.parse(e.data); } catch (_err) { return; }
        if (message.type === "hello") {
          conn = message.conn;
          retry = 1000;
          document.body.dataset.callReady = "1";
          resolve(conn);
        } else receive(message);
      });
      ws.addEventListener("close", () => {
        const wasReady = conn !== null;
        conn = null;
        connecting = null;
        delete document.body.dataset.callReady;
        if (!wasReady) reject(new Error("通话服务连接失败，请检查网络后重试"));
        if (wasReady) room({ type: "socket-closed" });
        if (current) finish(ended("dropped"), true);
        if (keep) {
          setTimeout(() => connect().catch(() => {}), retry);
          retry = Math.min(retry * 2, 30000);
        }
      });
    });
    return connecting;
  }

  async function iceConfig() {
    if (!config) config = await api("/calls/config");
    return config;
  }

  // The meeting rooms' messages share the socket: handed to the room page (rooms.js), and an
  // invitation rings on whichever page of the invited person is open.
  function room(message) {
    document.dispatchEvent(new CustomEvent("fq-room", { detail: message }));
    if (message.type === "room-invite" && !document.getElementById("room-meeting")) invited(message.session);
  }

  function invited(session) {
    const before = document.getElementById("room-invite-dialog");
    if (before) { before.close(); before.remove(); }
    const join = h("a", { class: "btn btn-primary", id: "room-invite-join", href: "/rooms/" + session.org_id }, "加入会商");
    const later = h("button", { type: "button", class: "btn btn-secondary" }, "稍后");
    const dialog = h("dialog", { class: "room-invite-dialog", id: "room-invite-dialog" },
      h("h2", {}, "会商邀请"),
      h("p", {}, session.opened_by, " 在 ", session.room, " 发起会商：", h("strong", {}, session.title)),
      h("div", { class: "actions" }, later, join));
    later.addEventListener("click", () => { dialog.close(); dialog.remove(); });
    document.body.append(dialog);
    dialog.showModal();
  }

  function receive(message) {
    if (typeof message.type === "string" && message.type.startsWith("room-")) room(message);
    else if (message.type === "ring") ring(message);
    else if (!current || message.call_id !== current.id) {
      if (message.type === "ended" && incoming && incoming.id === message.call_id) stopRinging();
    } else if (message.type === "accepted") connectMedia(true);
    else if (message.type === "signal") {
      if (current.link) current.link.handle(message).catch(() => hangUp(ended("dropped")));
      else {
        current.inbox.push(message);
        connectMedia(false);
      }
    } else if (message.type === "ended") finish(ended(message.outcome || "completed"), true);
  }

  // --- the call window ------------------------------------------------------------------------

  let current = null; // {id, peer, eventId, media, link, view, startedAt}
  let incoming = null; // {id, sheet, sound}

  function callView(peer) {
    const before = document.getElementById("call-dialog"); // an ended call still saying why
    if (before) { before.close(); before.remove(); }
    const remote = h("video", { id: "call-remote", class: "call-remote", autoplay: true, playsinline: true });
    const local = h("video", { id: "call-local", class: "call-local", autoplay: true, playsinline: true });
    local.muted = true;
    const status = h("p", { class: "call-status", id: "call-status", role: "status" });
    const clock = h("span", { class: "call-clock", id: "call-clock" });
    const mute = h("button", { type: "button", class: "btn call-mute", id: "call-mute" }, "静音");
    const camera = h("button", { type: "button", class: "btn call-camera", id: "call-camera" }, "关闭摄像头");
    const hang = h("button", { type: "button", class: "btn btn-danger call-hangup", id: "call-hangup" }, "挂断");
    const dialog = h("dialog", { class: "call-dialog", id: "call-dialog", "aria-labelledby": "call-peer" },
      h("div", { class: "call-head" }, h("strong", { id: "call-peer" }, peer.name), " ", clock),
      h("div", { class: "call-stage" }, remote, local), status,
      h("div", { class: "call-controls" }, mute, camera, hang));
    dialog.addEventListener("cancel", (e) => e.preventDefault()); // Esc does not hide a call
    mute.addEventListener("click", () => toggle(mute, "audio", "静音", "取消静音"));
    camera.addEventListener("click", () => toggle(camera, "video", "关闭摄像头", "打开摄像头"));
    hang.addEventListener("click", () => hangUp(current && current.link ? ended("completed") : ended("cancelled")));
    remote.addEventListener("playing", () => {
      if (!dialog.dataset.mediaAt) dialog.dataset.mediaAt = String(Date.now());
    });
    document.body.append(dialog);
    dialog.showModal();
    return { dialog, remote, local, status, clock, mute, camera, hang };
  }

  function setState(state, text) {
    if (!current) return;
    current.view.dialog.dataset.state = state;
    current.view.status.textContent = text;
  }

  function toggle(button, kind, onWord, offWord) {
    if (!current || !current.media.stream) return;
    const off = button.getAttribute("aria-pressed") !== "true";
    if (!FQ.rtc.setEnabled(current.media.stream, kind, !off)) return;
    button.setAttribute("aria-pressed", off ? "true" : "false");
    button.textContent = off ? offWord : onWord;
  }

  function showMedia(media) {
    const view = current.view;
    if (media.stream) view.local.srcObject = media.stream;
    view.camera.disabled = media.mode !== "video";
    view.mute.disabled = media.mode === "none";
    view.dialog.dataset.mode = media.mode;
  }

  function modeNote(mode) {
    return mode === "voice" ? "（未能使用摄像头，已转为语音通话）"
      : mode === "none" ? "（未能使用麦克风和摄像头，仅接收对方画面）" : "";
  }

  // The link to the other side once the call is answered, as soon as this side's media is
  // ready (the caller rings before its camera has started); signals that came first wait.
  function connectMedia(offering) {
    const call = current;
    if (!call || call.linking) return;
    call.linking = true;
    setState("connecting", "正在建立连接…");
    call.mediaReady.then(() => {
      if (current !== call) return;
      call.link = FQ.rtc.link({
        iceServers: config ? config.ice_servers : [], stream: call.media.stream,
        send: (kind, body) => api("/calls/" + call.id + "/signal",
          { method: "POST", json: Object.assign({ conn: conn, kind: kind }, body) }),
        onRemote: (stream) => { if (call.view.remote.srcObject !== stream) call.view.remote.srcObject = stream; },
        onState: (state) => {
          if (current !== call) return;
          if (state === "connected") {
            call.answeredAt = call.answeredAt || Date.now();
            setState("active", "通话中" + modeNote(call.media.mode));
          } else if (state === "failed") hangUp("网络连接失败，通话结束");
        },
      });
      if (offering) call.link.offer().catch(() => hangUp("网络连接失败，通话结束"));
      for (const signal of call.inbox.splice(0)) {
        call.link.handle(signal).catch(() => hangUp(ended("dropped")));
      }
      call.ticker = setInterval(() => {
        if (call.answeredAt) call.view.clock.textContent = duration((Date.now() - call.answeredAt) / 1000);
      }, 1000);
    });
  }

  function duration(seconds) {
    const s = Math.floor(seconds);
    return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }

  // End the call on this page: say why, then close the window after a moment.
  function finish(text, told) {
    const call = current;
    if (!call) return;
    current = null;
    if (!told && call.id) {
      api("/calls/" + call.id + "/hangup", { method: "POST" }).catch(() => {});
    }
    clearInterval(call.ticker);
    if (call.link) call.link.close();
    FQ.rtc.stop(call.media.stream);
    const view = call.view;
    view.dialog.dataset.state = "ended";
    view.status.textContent = text;
    for (const button of [view.mute, view.camera, view.hang]) button.disabled = true;
    setTimeout(() => { view.dialog.close(); view.dialog.remove(); }, CLOSE_AFTER_MS);
  }

  function hangUp(text) {
    finish(text, false);
  }

  // --- the desk: ring someone -----------------------------------------------------------------

  function newCall(id, peer) {
    return { id: id, peer: peer, media: { stream: null, mode: "none" }, inbox: [], link: null };
  }

  async function start(calleeId, options) {
    const opts = options || {};
    if (current) {
      FQ.toast("您正在通话中，请先挂断当前通话", "error");
      return;
    }
    const pressedAt = Date.now();
    const call = current = newCall(null, { id: calleeId, name: opts.name || "" });
    call.view = callView(call.peer);
    call.view.dialog.dataset.pressedAt = String(pressedAt);
    setState("calling", "正在呼叫…");
    // The phone rings while the camera starts: media is needed only once the call is answered.
    call.mediaReady = FQ.rtc.localMedia().then((media) => {
      if (current !== call) { FQ.rtc.stop(media.stream); return; }
      call.media = media;
      showMedia(media);
    });
    try {
      await Promise.all([connect(), iceConfig()]);
      if (current !== call) return;
      const placed = await api("/calls", {
        method: "POST", json: { callee_id: calleeId, event_id: opts.eventId || null, conn: conn },
      });
      if (current !== call) {
        api("/calls/" + placed.id + "/hangup", { method: "POST" }).catch(() => {});
        return;
      }
      call.id = placed.id;
      call.view.dialog.dataset.callId = String(placed.id);
      setState("ringing", "正在呼叫 " + placed.callee.name + "，等待对方接听…");
      call.mediaReady.then(() => {
        if (current === call && call.view.dialog.dataset.state === "ringing") {
          setState("ringing", "正在呼叫 " + placed.callee.name + "，等待对方接听…" + modeNote(call.media.mode));
        }
      });
    } catch (failure) {
      if (current === call) finish(problemText(failure), true);
    }
  }

  // A button that rings `person` ({id, name}) from the event `eventId` (optional).
  function button(person, eventId, label) {
    connect().catch(() => {}); // a page that shows a call button keeps its socket ready
    return h("button", {
      type: "button", class: "btn btn-small call-video", dataset: { callee: String(person.id) },
      onclick: (e) => { e.preventDefault(); e.stopPropagation(); start(person.id, { name: person.name, eventId: eventId }); },
    }, label || "视频通话");
  }

  // --- the phone: be rung ---------------------------------------------------------------------

  function ring(message) {
    const call = message.call;
    if (current || incoming) return; // the server refuses a second call; never two sheets
    const accept = h("button", { type: "button", class: "btn call-accept", id: "call-accept", autofocus: true }, "接听");
    const decline = h("button", { type: "button", class: "btn call-decline", id: "call-decline" }, "拒绝");
    const sheet = h("dialog", { class: "call-incoming", id: "call-incoming", dataset: { callId: String(call.id), ringAt: String(Date.now()) } },
      h("p", { class: "call-incoming-kind" }, "视频通话来电"),
      h("p", { class: "call-incoming-name" }, call.caller.name),
      message.event ? h("p", { class: "call-incoming-event" }, "关于事件：", message.event.title, " ", h("code", {}, message.event.code)) : null,
      h("div", { class: "call-incoming-actions" }, decline, accept));
    sheet.addEventListener("cancel", (e) => e.preventDefault());
    const sound = h("audio", { src: "/static/alarm.wav", loop: true });
    document.body.append(sheet, sound);
    sheet.showModal();
    sound.play().catch(() => {}); // a page never touched may not sound; the sheet still shows
    if (navigator.vibrate) navigator.vibrate([400, 200, 400]);
    incoming = { id: call.id, sheet: sheet, sound: sound };
    decline.addEventListener("click", () => {
      stopRinging();
      api("/calls/" + call.id + "/decline", { method: "POST" }).catch(() => {});
    });
    accept.addEventListener("click", async () => {
      accept.disabled = decline.disabled = true;
      stopRinging();
      const mine = current = newCall(call.id, call.caller);
      mine.view = callView(call.caller);
      setState("connecting", "正在接通…");
      mine.mediaReady = Promise.resolve();
      [mine.media] = await Promise.all([FQ.rtc.localMedia(), iceConfig().catch(() => null)]);
      if (current !== mine) { FQ.rtc.stop(mine.media.stream); return; }
      showMedia(mine.media);
      try {
        await api("/calls/" + call.id + "/accept", { method: "POST", json: { conn: conn } });
        if (current === mine) setState("connecting", "正在建立连接…" + modeNote(mine.media.mode));
      } catch (failure) {
        if (current === mine) finish(problemText(failure), true);
      }
    });
  }

  function stopRinging() {
    if (!incoming) return;
    incoming.sound.pause();
    incoming.sound.remove();
    incoming.sheet.close();
    incoming.sheet.remove();
    if (navigator.vibrate) navigator.vibrate(0);
    incoming = null;
  }

  // The phone app listens from the start and comes back after a drop.
  function listen() {
    keep = true;
    connect().catch(() => {});
  }

  FQ.call = { start: start, button: button, connect: connect, listen: listen };
  const me = document.currentScript;
  if (me && me.dataset.listen === "1") listen();
})();
