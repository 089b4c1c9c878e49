// The alarm dialog of every command-room page (base.html, operators, leaders, administrators):
// an alarm of the caller's area waiting for 接警 opens a modal that neither Esc nor a click
// beside it closes, with a sound, until someone takes it here or on any other screen (the live
// stream's "ack"). It names the reporter and their number (a tel: link to call back), the grid
// and the place, the class and the time, and links to the event.
(function () {
  "use strict";

  const { h, fill, api, time, toast, problemText } = FQ;
  const dialog = document.getElementById("alarm-dialog");
  if (!dialog || !FQ.live) return;
  const queue = document.getElementById("alarm-queue");
  const count = document.getElementById("alarm-dialog-count");
  const audio = document.getElementById("alarm-sound");
  const toggles = document.querySelectorAll("[data-sound-toggle]");
  const SOUND_KEY = "fq-alarm-sound";
  let waiting = new Map();  // event id -> alarm, as GET /command/alarms gave it
  let climbMinutes = null;
  let blocked = false;  // the browser refused to play before the user touched the page

  // --- the sound ------------------------------------------------------------------------------

  function soundOn() {
    try {
      return localStorage.getItem(SOUND_KEY) === "on";
    } catch (_err) {
      return false;
    }
  }

  function showToggles() {
    const offer = !soundOn() || blocked;
    for (const toggle of toggles) toggle.hidden = !offer;
  }

  function play() {
    if (!soundOn()) {
      showToggles();
      return;
    }
    audio.loop = true;
    const started = audio.play();
    if (started && started.catch) {
      started.then(() => {
        blocked = false;
        showToggles();
      }).catch(() => {
        // Autoplay refused until the user acts on this page: the first touch starts it.
        blocked = true;
        showToggles();
        document.addEventListener("pointerdown", retry, { once: true, capture: true });
        document.addEventListener("keydown", retry, { once: true, capture: true });
      });
    }
  }

  function retry() {
    if (waiting.size) play();
  }

  function silence() {
    audio.pause();
    audio.currentTime = 0;
  }

  function enableSound() {
    try {
      localStorage.setItem(SOUND_KEY, "on");
    } catch (_err) { /* private mode: on for this page only */ }
    blocked = false;
    if (waiting.size) {
      play();
    } else {
      // One ring, so whoever pressed it hears what an alarm sounds like.
      audio.loop = false;
      audio.play().catch(() => {});
    }
    showToggles();
  }

  for (const toggle of toggles) toggle.addEventListener("click", enableSound);

  // --- the dialog -----------------------------------------------------------------------------

  function place(a) {
    return [a.town.name, a.village.name, a.grid.name].filter(Boolean).join(" · ");
  }

  function card(a) {
    const reporter = a.reporter;
    const error = h("p", { class: "form-error", hidden: true });
    const take = h("button", { type: "button", class: "btn btn-primary alarm-take" }, "接警");
    take.addEventListener("click", async () => {
      take.disabled = true;
      try {
        const done = await api("/command/alarms/" + a.id + "/ack", { method: "POST" });
        toast(done.already ? "该报警已由" + done.acked_by.name + "接警" : "已接警：" + a.title, "ok");
        drop(a.id);
      } catch (failure) {
        take.disabled = false;
        error.textContent = problemText(failure);
        error.hidden = false;
      }
    });
    return h("li", { class: "alarm-item" + (a.climbed_at ? " is-climbed" : ""), dataset: { id: a.id } },
      h("div", { class: "alarm-item-head" },
        h("span", { class: "badge-urgent" }, a.urgent ? "紧急" : FQ.label("source", a.source)),
        " ", h("strong", { class: "alarm-title" }, a.title), " ", h("code", {}, a.code),
        a.climbed_at ? h("span", { class: "alarm-climbed" },
          "超过 " + (climbMinutes || "") + " 分钟无人接警，已升级至区指挥中心") : null),
      h("dl", { class: "facts alarm-facts" },
        h("dt", {}, "上报人"), h("dd", { class: "alarm-reporter" }, reporter.name,
          reporter.unit ? "（" + reporter.unit + "）" : null),
        h("dt", {}, "联系电话"), h("dd", {}, reporter.tel
          ? h("a", { class: "btn btn-small call alarm-call", href: reporter.tel }, "回拨 " + reporter.phone)
          : (reporter.phone || "—"),
          // The reporter is a user of the app: a video call from the dialog (call.js).
          reporter.user_id && FQ.call ? FQ.call.button({ id: reporter.user_id, name: reporter.name }, a.id) : null),
        h("dt", {}, "所在网格"), h("dd", { class: "alarm-grid" }, place(a)),
        h("dt", {}, "事发地点"), h("dd", { class: "alarm-address" }, a.address || "—"),
        h("dt", {}, "事件分类"), h("dd", {}, a.category_name),
        h("dt", {}, "上报时间"), h("dd", {}, time(a.created_at))),
      error,
      h("div", { class: "alarm-actions" }, take,
        h("a", { class: "btn btn-secondary", href: "/events/" + a.id }, "查看事件"),
        h("a", { class: "btn btn-secondary", href: "/map#event=" + a.id }, "在地图上定位")));
  }

  // The stream looks at the waiting alarms every 2 s: an alarm raised and taken between two of
  // its looks is never announced, so its "ack" never comes, yet this page's own list may have
  // caught it waiting. While the dialog stands, the page asks again every few seconds.
  const RECHECK_MS = 5000;
  let recheck = null;

  function render() {
    clearTimeout(recheck);
    if (waiting.size) recheck = setTimeout(refresh, RECHECK_MS);
    if (!waiting.size) {
      silence();
      fill(queue);
      if (dialog.open) dialog.close();
      return;
    }
    fill(queue, [...waiting.values()].map(card));
    count.textContent = waiting.size > 1 ? "共 " + waiting.size + " 条待接警" : "";
    if (!dialog.open) dialog.showModal();
    if (audio.paused) play();
    showToggles();
  }

  // Alarms answered while this page looked: a list asked for before an answer and read after it
  // must not bring that alarm back (an alarm is raised once, so the set only grows by answers).
  const answered = new Set();

  function drop(id) {
    answered.add(id);
    if (waiting.delete(id)) render();
  }

  // Esc asks the dialog to cancel: refused. A close forced some other way opens it again while
  // an alarm still waits (Chromium closes a dialog on a second Esc without asking).
  dialog.addEventListener("cancel", (e) => e.preventDefault());
  dialog.addEventListener("close", () => {
    if (waiting.size) setTimeout(() => { if (waiting.size && !dialog.open) dialog.showModal(); });
  });

  let asking = null;

  // The list as the server has it (also after the stream reconnects: acks may have been missed).
  function refresh() {
    clearTimeout(asking);
    asking = setTimeout(async () => {
      try {
        const data = await api("/command/alarms");
        climbMinutes = data.climb_minutes;
        waiting = new Map(data.items.filter((a) => !answered.has(a.id)).map((a) => [a.id, a]));
        render();
        dialog.dataset.state = "ready";
      } catch (_err) {
        // The next alarm or reconnect asks again; a standing dialog asks again in a moment.
        clearTimeout(recheck);
        if (waiting.size) recheck = setTimeout(refresh, RECHECK_MS);
      }
    }, 150);
  }

  FQ.live.on("alarm", refresh);
  FQ.live.on("ack", (a) => drop(a.id));
  FQ.live.on("state", (live) => { if (live) refresh(); });
  showToggles();
  refresh();
})();
