// FQ.rtc: the browser's media and one WebRTC link to one other party, for the video calls
// (call.js) and, later, the meeting rooms: each party pair is one link. The signalling is the
// caller's: a link hands what it must send to `send(kind, body)` and takes what arrives in
// `handle(signal)`. No UI here.
(function () {
  "use strict";

  // Camera and microphone; without a camera (none, or refused) the microphone alone (a voice
  // call); without either, nothing: the link still receives the other side.
  async function localMedia() {
    const devices = navigator.mediaDevices;
    if (!devices || !devices.getUserMedia) return { stream: null, mode: "none" };
    try {
      const stream = await devices.getUserMedia({
        audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
      });
      return { stream: stream, mode: "video" };
    } catch (_err) { /* no camera, or refused: try the microphone alone */ }
    try {
      return { stream: await devices.getUserMedia({ audio: true }), mode: "voice" };
    } catch (_err) {
      return { stream: null, mode: "none" };
    }
  }

  function stop(stream) {
    if (stream) stream.getTracks().forEach((track) => track.stop());
  }

  function trackOf(stream, kind) {
    return stream ? stream.getTracks().find((t) => t.kind === kind) || null : null;
  }

  // Turn the local track of a kind on or off (mute, camera off); false when there is none.
  function setEnabled(stream, kind, on) {
    const track = trackOf(stream, kind);
    if (!track) return false;
    track.enabled = on;
    return true;
  }

  // One RTCPeerConnection to one party. options: {iceServers, stream, send(kind, body),
  // onRemote(stream), onState(state)}. The offering side calls offer(); both pass every
  // signal from the other side to handle(). Always one audio and one video transceiver, so a
  // voice-only side still receives the other's picture.
  function link(options) {
    const pc = new RTCPeerConnection({ iceServers: options.iceServers || [] });
    const remote = new MediaStream();
    const stream = options.stream || null;
    const pending = [];
    let chain = Promise.resolve();
    // In order: a candidate must not overtake the description it belongs to.
    const send = (kind, body) => {
      chain = chain.then(() => options.send(kind, body)).catch(() => {});
      return chain;
    };
    pc.addEventListener("icecandidate", (e) => {
      if (e.candidate) send("candidate", { candidate: e.candidate.toJSON() });
    });
    pc.addEventListener("track", (e) => {
      if (!remote.getTracks().includes(e.track)) remote.addTrack(e.track);
      if (options.onRemote) options.onRemote(remote);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (options.onState) options.onState(pc.connectionState);
    });

    async function flush() {
      while (pending.length) await pc.addIceCandidate(pending.shift()).catch(() => {});
    }

    async function offer() {
      for (const kind of ["audio", "video"]) {
        const track = trackOf(stream, kind);
        pc.addTransceiver(track || kind, {
          direction: track ? "sendrecv" : "recvonly", streams: track ? [stream] : [],
        });
      }
      await pc.setLocalDescription(await pc.createOffer());
      await send("offer", { sdp: pc.localDescription.sdp });
    }

    async function answer(sdp) {
      await pc.setRemoteDescription({ type: "offer", sdp: sdp });
      for (const transceiver of pc.getTransceivers()) {
        const track = trackOf(stream, transceiver.receiver.track.kind);
        if (track) {
          await transceiver.sender.replaceTrack(track);
          transceiver.sender.setStreams(stream);
        }
        transceiver.direction = track ? "sendrecv" : "recvonly";
      }
      await pc.setLocalDescription(await pc.createAnswer());
      await flush();
      await send("answer", { sdp: pc.localDescription.sdp });
    }

    async function handle(signal) {
      if (signal.kind === "offer") await answer(signal.sdp);
      else if (signal.kind === "answer") {
        await pc.setRemoteDescription({ type: "answer", sdp: signal.sdp });
        await flush();
      } else if (signal.kind === "candidate" && signal.candidate) {
        if (pc.remoteDescription) await pc.addIceCandidate(signal.candidate).catch(() => {});
        else pending.push(signal.candidate);
      }
    }

    function close() {
      pc.close();
      stop(remote);
    }

    return { pc: pc, remote: remote, offer: offer, handle: handle, close: close };
  }

  window.FQ = window.FQ || {};
  window.FQ.rtc = { localMedia: localMedia, stop: stop, setEnabled: setEnabled, link: link };
})();
