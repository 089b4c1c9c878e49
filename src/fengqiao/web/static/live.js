// FQ.live: the one live connection of this browser, shared by every tab of the site.
//
// A browser opens at most six HTTP/1.1 connections to one host; a page holding its own
// server-sent-event stream takes one for good, so six open tabs starved the seventh. Here one
// EventSource to GET /api/v1/live/stream (every kind a page follows, multiplexed by the server)
// serves all tabs: held by a SharedWorker (this same file, run as the worker) where the browser
// has one, else by one leader tab elected with Web Locks that passes each event to the others
// over a BroadcastChannel, else (neither) by the page itself.
//
//   FQ.live.on(kind, handler): kinds "notification", "situation", "alarm", "ack" (the server's
//   events, handler(data) with the parsed JSON), and "state" (handler(true) when the stream is
//   live, false when it dropped; a tab that joins late hears the current state at once).
(function () {
  "use strict";

  const STREAM = "/api/v1/live/stream";
  const KINDS = ["notification", "situation", "alarm", "ack"];

  // One EventSource, reopened with a growing pause when the server refuses it (signed out, a
  // restart); the browser itself retries a dropped connection every 3 s (the stream's retry).
  // An instance that drains (a rolling restart) sends "reconnect" with a short retry and ends
  // the stream: the browser reconnects at once, to another instance, resuming from the last
  // event id; that is a move, not an outage, so the page is not told the stream dropped unless
  // the new one fails to open within MOVE_MS.
  const MOVE_MS = 10000;
  function connect(onEvent, onState) {
    let pause = 3000;
    let moving = null;
    function open() {
      const source = new EventSource(STREAM);
      source.addEventListener("open", () => {
        pause = 3000;
        clearTimeout(moving);
        moving = null;
        onState(true);
      });
      source.addEventListener("reconnect", () => {
        clearTimeout(moving);
        moving = setTimeout(() => {
          moving = null;
          onState(false);
        }, MOVE_MS);
      });
      source.addEventListener("error", () => {
        if (source.readyState === EventSource.CLOSED) {
          setTimeout(open, moving ? 500 : pause);
          if (!moving) pause = Math.min(pause * 2, 60000);
        }
        if (!moving) onState(false);
      });
      for (const kind of KINDS) {
        source.addEventListener(kind, (e) => onEvent(kind, JSON.parse(e.data)));
      }
    }
    open();
  }

  // --- run as the SharedWorker: one stream, every connected tab told --------------------------
  if (typeof SharedWorkerGlobalScope !== "undefined" && self instanceof SharedWorkerGlobalScope) {
    const ports = new Set();
    let live = false;
    let started = false;
    const tell = (message) => ports.forEach((port) => port.postMessage(message));
    self.addEventListener("connect", (event) => {
      const port = event.ports[0];
      ports.add(port);
      port.addEventListener("message", (m) => {
        if (m.data === "bye") ports.delete(port);  // the tab is going away
        if (m.data === "hello") ports.add(port);  // …or came back from the page cache
      });
      port.start();
      port.postMessage({ kind: "state", data: live });
      if (!started) {
        started = true;
        connect((kind, data) => tell({ kind: kind, data: data }), (state) => {
          live = state;
          tell({ kind: "state", data: state });
        });
      }
    });
    return;
  }

  // --- run in a page ---------------------------------------------------------------------------
  const script = document.currentScript;
  // One connection per signed-in user and version: another user's tabs, or a new release, get
  // their own (the name and the script's ?v= keep them apart).
  const NAME = "fq-live-" + ((script && script.dataset.user) || "0");
  const handlers = new Map();
  let state = null;
  let mode = null;

  function deliver(kind, data) {
    if (kind === "state") state = data;
    for (const handler of handlers.get(kind) || []) {
      try {
        handler(data);
      } catch (error) {
        setTimeout(() => { throw error; });  // reported, and the other handlers still run
      }
    }
  }

  function shared() {
    if (typeof SharedWorker === "undefined" || !script) return false;
    let worker;
    try {
      worker = new SharedWorker(script.src, { name: NAME });
    } catch (_err) {
      return false;  // refused (a policy, a private mode): a leader tab instead
    }
    worker.port.addEventListener("message", (e) => deliver(e.data.kind, e.data.data));
    worker.port.start();
    window.addEventListener("pagehide", () => worker.port.postMessage("bye"));
    window.addEventListener("pageshow", (e) => { if (e.persisted) worker.port.postMessage("hello"); });
    return true;
  }

  function leaderTab() {
    if (typeof BroadcastChannel === "undefined" || !navigator.locks) return false;
    const channel = new BroadcastChannel(NAME);
    let leading = false;
    channel.addEventListener("message", (e) => {
      if (e.data === "hello") {
        if (leading) channel.postMessage({ kind: "state", data: state });
        return;
      }
      deliver(e.data.kind, e.data.data);
    });
    // The tab holding the lock holds the stream; when it closes, the lock passes to the next.
    navigator.locks.request(NAME, () => new Promise(() => {
      leading = true;
      mode = "leader";
      const pass = (kind, data) => {
        channel.postMessage({ kind: kind, data: data });
        deliver(kind, data);
      };
      connect(pass, (live) => pass("state", live));
    }));
    channel.postMessage("hello");
    return true;
  }

  function start() {
    if (mode) return;
    if (shared()) mode = "shared";
    else if (leaderTab()) mode = mode || "follower";
    else {
      mode = "own";
      connect(deliver, (live) => deliver("state", live));
    }
  }

  function on(kind, handler) {
    if (!handlers.has(kind)) handlers.set(kind, []);
    handlers.get(kind).push(handler);
    if (kind === "state" && state !== null) handler(state);
    start();
  }

  window.FQ = Object.assign(window.FQ || {}, {
    live: { on: on, get mode() { return mode; } },
  });
})();
