// 会商: the rooms of the caller's area (/rooms) and one room's meeting (/rooms/<org_id>). A mesh:
// this page holds one FQ.rtc link to every other party; the newcomer offers to those already
// there. Signalling shares the calls' socket (FQ.call.connect); room messages arrive as the
// `fq-room` event. Every refusal is the server's problem+json, shown in Chinese on the page.
(function () {
  "use strict";

  const FQ = window.FQ;
  const { api, h, problemText } = FQ;
  const root = document.getElementById("rooms-page");
  const orgId = root.dataset.org;
  const KIND_ZH = FQ.labels("orgLevels");
  const GONE_AFTER_MS = 2500;

  // --- the list of rooms and the record --------------------------------------------------------

  async function showList() {
    const body = document.querySelector("#room-table tbody");
    const rooms = await api("/rooms");
    body.replaceChildren(...rooms.map((room) => h("tr", { dataset: { org: String(room.org_id) } },
      h("td", {}, room.name, room.invited ? h("span", { class: "badge" }, "受邀") : null),
      h("td", {}, KIND_ZH[room.kind] || ""),
      h("td", {}, room.session ? room.session.title + "（" + FQ.time(room.session.opened_at) + " 起）" : "—"),
      h("td", {}, h("a", { class: "btn btn-small", href: "/rooms/" + room.org_id }, room.session ? "加入" : "进入")))));
    const past = await api("/rooms/sessions?size=50");
    document.querySelector("#session-table tbody").replaceChildren(...past.items.map((s) => h("tr", {},
      h("td", {}, s.room), h("td", {}, s.title), h("td", {}, s.opened_by.name),
      h("td", {}, FQ.time(s.opened_at)), h("td", {}, s.closed_at ? FQ.time(s.closed_at) : "进行中"),
      h("td", {}, h("button", { type: "button", class: "btn btn-small", onclick: (e) => record(e.target, s.id) }, "查看")))));
  }

  async function record(button, sessionId) {
    const detail = await api("/rooms/sessions/" + sessionId).catch((f) => ({ error: problemText(f) }));
    const row = button.closest("tr");
    const text = detail.error || detail.participants.map((p) =>
      p.user.name + " " + FQ.time(p.joined_at) + " 加入" + (p.left_at ? "，" + FQ.time(p.left_at) + " 离开" : "")).join("；") || "无人参加";
    row.after(h("tr", { class: "room-record", dataset: { session: String(sessionId) } }, h("td", { colspan: "6" }, text)));
    button.disabled = true;
  }

  // --- one room -----------------------------------------------------------------------------------

  const status = document.getElementById("room-status");
  let room = null;
  let meeting = null; // {sid, me, conn, media, peers: Map(party -> {link, tile}), ice, sharing}

  function say(text, kind) {
    status.textContent = text;
    status.dataset.kind = kind || "";
  }

  // `quiet`: after a meeting ended, a room the page no longer reaches (the invitation was for
  // that session) keeps saying why the meeting ended.
  async function showRoom(quiet) {
    try {
      room = await api("/rooms/" + orgId);
    } catch (failure) {
      for (const id of ["room-join", "room-open", "room-close"]) document.getElementById(id).hidden = true;
      if (!quiet) say(problemText(failure), "error");
      return;
    }
    document.getElementById("room-name").textContent = room.name;
    const session = room.session;
    document.getElementById("room-title").textContent = session ? "会商：" + session.title : "";
    links(session ? session.event_ids : linking.events, session ? session.warning_ids : linking.warnings);
    document.getElementById("room-join").hidden = !session;
    document.getElementById("room-close").hidden = !session || room.invited;
    document.getElementById("room-open").hidden = !!session || room.invited;
    if (!session && !room.invited) await inviteChoices();
    FQ.call.connect().catch(() => {}); // online: an invitation rings this page too
  }

  // Events and warnings the session is about: a page that opens this room with ?event=ID or
  // ?warning=ID (at most 20 each) links them to the session it opens.
  const wanted = new URLSearchParams(location.search);
  const ids = (name) => wanted.getAll(name).map(Number).filter((n) => Number.isInteger(n) && n > 0).slice(0, 20);
  const linking = { events: ids("event"), warnings: ids("warning") };

  function links(events, warnings) {
    const box = document.getElementById("room-links");
    const items = [
      ...events.map((id) => h("a", { href: "/events/" + id }, "事件 " + id)),
      ...warnings.map((id) => h("a", { href: "/warnings?id=" + id }, "预警 " + id)),
    ];
    box.replaceChildren(...(items.length ? ["关联：", ...items] : []));
  }

  // The rooms one level below this one, to invite (the district invites towns).
  async function inviteChoices() {
    const depth = room.path.split("/").length;
    const below = (await api("/rooms")).filter((r) => r.path.startsWith(room.path) && r.path.split("/").length === depth + 1);
    document.getElementById("room-invitees").replaceChildren(...below.map((r) =>
      h("label", {}, h("input", { type: "checkbox", name: "invite", value: String(r.org_id) }), r.name)));
  }

  async function openSession(e) {
    e.preventDefault();
    const form = e.target;
    const invited = [...form.querySelectorAll("input[name=invite]:checked")].map((i) => Number(i.value));
    try {
      await api("/rooms/" + orgId + "/sessions", {
        method: "POST",
        json: { title: form.title.value, invited_org_ids: invited, event_ids: linking.events, warning_ids: linking.warnings },
      });
      say("会商已发起，已通知受邀人员", "");
      await showRoom();
    } catch (failure) {
      say(problemText(failure), "error");
    }
  }

  async function join() {
    const button = document.getElementById("room-join-button");
    button.disabled = true;
    try {
      const [conn, media] = await Promise.all([FQ.call.connect(), FQ.rtc.localMedia()]);
      let answer;
      try {
        answer = await api("/rooms/sessions/" + room.session.id + "/join", { method: "POST", json: { conn: conn } });
      } catch (failure) {
        FQ.rtc.stop(media.stream);
        throw failure;
      }
      meeting = { sid: answer.session.id, me: answer.me, conn: conn, media: media, peers: new Map(), ice: answer.ice_servers, sharing: null };
      document.getElementById("room-join").hidden = true;
      document.getElementById("room-meeting").hidden = false;
      document.getElementById("room-meeting").dataset.me = String(answer.me);
      say(media.mode === "none" ? "未检测到摄像头或麦克风，仅观看"
        : media.mode === "voice" ? "未检测到摄像头，仅语音参加" : "已加入会商", media.mode === "video" ? "" : "notice");
      controls(media);
      const own = tile(answer.me, "我", true);
      own.video.srcObject = media.stream;
      own.state.textContent = media.mode === "none" ? "仅观看" : media.mode === "voice" ? "仅语音" : "";
      for (const party of answer.parties) peer(party, true);
      tune();
    } catch (failure) {
      say(problemText(failure), "error");
    } finally {
      button.disabled = false;
    }
  }

  function tile(party, name, local) {
    const video = h("video", { autoplay: true, playsinline: true });
    video.muted = !!local;
    const state = h("span", { class: "room-tile-state" });
    const figure = h("figure", { class: "room-tile" + (local ? " room-local" : ""), dataset: { party: String(party) } },
      video, h("figcaption", {}, h("span", { class: "room-tile-name" }, name), state));
    document.getElementById("room-grid").append(figure);
    count();
    return { figure, video, state };
  }

  function count() {
    const grid = document.getElementById("room-grid");
    grid.dataset.count = String(grid.children.length);
  }

  // The link to one other party; `offering` when this page came after it.
  function peer(party, offering) {
    const view = tile(party.id, party.user.name, false);
    view.state.textContent = "连接中…";
    const entry = { view: view, link: null };
    meeting.peers.set(party.id, entry);
    const sid = meeting.sid;
    entry.link = FQ.rtc.link({
      iceServers: meeting.ice, stream: meeting.media.stream,
      send: (kind, body) => api("/rooms/sessions/" + sid + "/signal",
        { method: "POST", json: Object.assign({ conn: meeting.conn, to: party.id, kind: kind }, body) }),
      onRemote: (stream) => { if (view.video.srcObject !== stream) view.video.srcObject = stream; },
      onState: (state) => {
        if (state === "connected") { view.state.textContent = ""; tune(); }
        else if (state === "failed") gone(party.id, "dropped");
      },
    });
    if (offering) entry.link.offer().catch(() => gone(party.id, "dropped"));
    if (meeting.sharing) share(meeting.sharing);
    return entry;
  }

  // A party left or dropped: its tile says so, then goes.
  function gone(party, how) {
    const entry = meeting && meeting.peers.get(party);
    if (!entry) return;
    meeting.peers.delete(party);
    entry.link.close();
    entry.view.figure.dataset.state = how;
    entry.view.state.textContent = how === "left" ? "已离开" : "已掉线";
    setTimeout(() => { entry.view.figure.remove(); count(); }, GONE_AFTER_MS);
    tune();
  }

  // Mesh: each party sends to every other, so the more parties, the less each up-link carries
  // (docs/video.md): at most 8 parties, 7 up-links of 250 kbit/s at half resolution.
  function budget(parties) {
    if (parties <= 2) return { maxBitrate: 1500000, scale: 1 };
    if (parties <= 4) return { maxBitrate: 600000, scale: 1 };
    if (parties <= 6) return { maxBitrate: 350000, scale: 1.5 };
    return { maxBitrate: 250000, scale: 2 };
  }

  function tune() {
    if (!meeting) return;
    const wanted = budget(meeting.peers.size + 1);
    document.getElementById("room-grid").dataset.bitrate = String(wanted.maxBitrate);
    for (const entry of meeting.peers.values()) {
      for (const sender of entry.link.pc.getSenders()) {
        if (!sender.track || sender.track.kind !== "video") continue;
        const params = sender.getParameters();
        if (!params.encodings || !params.encodings.length) continue; // not negotiated yet
        params.encodings[0].maxBitrate = wanted.maxBitrate;
        params.encodings[0].scaleResolutionDownBy = meeting.sharing ? 1 : wanted.scale;
        sender.setParameters(params).catch(() => {});
      }
    }
  }

  // Send `track` (a screen, or a canvas) instead of the camera to every party; null: the camera.
  async function share(track) {
    if (!meeting) return;
    const camera = meeting.media.stream ? meeting.media.stream.getVideoTracks()[0] || null : null;
    const sending = track || camera;
    meeting.sharing = track;
    for (const entry of meeting.peers.values()) {
      for (const transceiver of entry.link.pc.getTransceivers()) {
        if (transceiver.receiver.track.kind === "video" && transceiver.direction === "sendrecv") {
          await transceiver.sender.replaceTrack(sending).catch(() => {});
        }
      }
    }
    const local = document.querySelector(".room-local video");
    if (local) local.srcObject = track ? new MediaStream([track]) : meeting.media.stream;
    const button = document.getElementById("room-share");
    button.setAttribute("aria-pressed", track ? "true" : "false");
    button.textContent = track ? "停止共享" : "共享屏幕";
    tune();
  }

  async function shareScreen() {
    if (!meeting) return;
    if (meeting.sharing) {
      const track = meeting.sharing;
      await share(null);
      track.stop();
      return;
    }
    try {
      const screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      const track = screen.getVideoTracks()[0];
      track.addEventListener("ended", () => { if (meeting && meeting.sharing === track) share(null); });
      await share(track);
    } catch (_err) {
      say("未能共享屏幕：未选择要共享的窗口或浏览器不允许", "notice");
    }
  }

  function controls(media) {
    const mute = document.getElementById("room-mute");
    const camera = document.getElementById("room-camera");
    mute.disabled = media.mode === "none";
    camera.disabled = media.mode !== "video";
    // Sharing replaces the camera's picture: a page without a camera sends no picture to replace.
    document.getElementById("room-share").disabled = media.mode !== "video";
  }

  function toggle(button, kind, onWord, offWord) {
    if (!meeting || !meeting.media.stream) return;
    const off = button.getAttribute("aria-pressed") !== "true";
    if (!FQ.rtc.setEnabled(meeting.media.stream, kind, !off)) return;
    button.setAttribute("aria-pressed", off ? "true" : "false");
    button.textContent = off ? offWord : onWord;
  }

  // This page's meeting ends: links closed, camera off, back to the room.
  function teardown(text, kind) {
    if (!meeting) return;
    for (const entry of meeting.peers.values()) entry.link.close();
    if (meeting.sharing) meeting.sharing.stop();
    FQ.rtc.stop(meeting.media.stream);
    meeting = null;
    document.getElementById("room-grid").replaceChildren();
    count();
    document.getElementById("room-meeting").hidden = true;
    say(text, kind);
    if (room && room.invited && kind === "notice") {
      // Invited to that session only: the room is no longer this page's to show.
      for (const id of ["room-join", "room-open", "room-close"]) document.getElementById(id).hidden = true;
    } else showRoom(true);
  }

  async function leave() {
    if (!meeting) return;
    const sid = meeting.sid;
    const conn = meeting.conn;
    teardown("您已离开会商", "");
    await api("/rooms/sessions/" + sid + "/leave", { method: "POST", json: { conn: conn } }).catch(() => {});
  }

  async function closeSession() {
    if (!room || !room.session) return;
    try {
      await api("/rooms/sessions/" + room.session.id + "/close", { method: "POST" });
      teardown("会商已结束", "");
      if (!meeting) { say("会商已结束", ""); showRoom(true); }
    } catch (failure) {
      say(problemText(failure), "error");
    }
  }

  function onMessage(message) {
    if (message.type === "room-invite") {
      say("您收到会商邀请：" + message.session.room + "“" + message.session.title + "”", "notice");
      return;
    }
    if (message.type === "socket-closed") {
      teardown("与服务器的连接已中断，请重新加入会商", "error");
      return;
    }
    if (!meeting || message.session_id !== meeting.sid) return;
    if (message.type === "room-joined") peer(message.party, false);
    else if (message.type === "room-left") gone(message.party, message.how);
    else if (message.type === "room-closed") teardown("会商已结束", "notice");
    else if (message.type === "room-signal") {
      const entry = meeting.peers.get(message.from);
      if (entry) entry.link.handle(message).catch(() => gone(message.from, "dropped"));
    }
  }

  if (orgId === "") {
    showList().catch((failure) => FQ.toast(problemText(failure), "error"));
    FQ.call.connect().catch(() => {}); // online: an invitation rings here (call.js's dialog)
    return;
  }
  document.addEventListener("fq-room", (e) => onMessage(e.detail));
  document.getElementById("room-open").addEventListener("submit", openSession);
  document.getElementById("room-join-button").addEventListener("click", join);
  document.getElementById("room-close").addEventListener("click", closeSession);
  document.getElementById("room-leave").addEventListener("click", leave);
  document.getElementById("room-share").addEventListener("click", shareScreen);
  document.getElementById("room-mute").addEventListener("click", (e) => toggle(e.target, "audio", "静音", "取消静音"));
  document.getElementById("room-camera").addEventListener("click", (e) => toggle(e.target, "video", "关闭摄像头", "打开摄像头"));
  window.addEventListener("pagehide", () => { if (meeting) leave(); });
  FQ.rooms = { share: share, budget: budget };
  showRoom();
})();
