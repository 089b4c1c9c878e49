// 研判会商 (/meetings): the month's analysis meetings of the caller's area by day (missed ones
// flagged red, each with its decisions and how many are red), and a meeting arranged with its
// agenda drafted. Every user text goes into the page as text (FQ.h), never as markup.
(function () {
  "use strict";

  const { api, h, fill, toast, formData, showErrors, clearErrors, problemText } = FQ;
  const $ = (id) => document.getElementById(id);
  const page = $("meetings-page");
  if (!page) return;
  const KIND = FQ.labels("orgLevels");
  const form = $("meeting-filters");
  const monthInput = $("meeting-month");
  const DAY = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", month: "long", day: "numeric", weekday: "short" });
  const CLOCK = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false });
  const KEY = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });

  function thisMonth() {
    return KEY.format(new Date()).slice(0, 7);
  }

  function monthKey(index) {
    return Math.floor(index / 12) + "-" + String(index % 12 + 1).padStart(2, "0");
  }

  function monthIndex(key) {
    const [y, m] = key.split("-").map(Number);
    return y * 12 + m - 1;
  }

  // The months to choose from (in Chinese words, whatever the browser's language): two years
  // back to three months ahead, and a wanted month outside them.
  function fillMonths(wanted) {
    const now = monthIndex(thisMonth());
    const keys = [];
    for (let i = now + 3; i >= now - 24; i -= 1) keys.push(monthKey(i));
    if (wanted && !keys.includes(wanted)) keys.push(wanted);
    fill(monthInput, ...keys.map((key) => h("option", { value: key },
      key.slice(0, 4) + "年" + Number(key.slice(5)) + "月")));
    monthInput.value = wanted || thisMonth();
  }

  function shift(months) {
    const key = monthKey(monthIndex(monthInput.value || thisMonth()) + months);
    if (![...monthInput.options].some((o) => o.value === key)) {
      monthInput.append(h("option", { value: key }, key.slice(0, 4) + "年" + Number(key.slice(5)) + "月"));
    }
    monthInput.value = key;
    load();
  }

  function entry(m) {
    const missed = m.status === "missed";
    return h("li", { class: "meeting-entry status-" + m.status },
      h("span", { class: "meeting-time" }, CLOCK.format(new Date(m.scheduled_at))),
      h("a", { href: "/meetings/" + m.id, class: "meeting-link" }, m.title),
      h("span", { class: "muted" }, m.org.name + "（" + m.level_name + "）"),
      h("span", { class: "meeting-status" + (missed ? " is-missed" : "") }, m.status_name),
      m.decisions_total ? h("span", { class: "muted" }, "决定事项 " + m.decisions_total + " 项") : "",
      m.decisions_red ? h("span", { class: "light light-red" }, "超期 " + m.decisions_red + " 项") : "");
  }

  // Only the month asked last is shown: a slower answer for one asked before is dropped.
  const loads = FQ.latest();

  async function load() {
    const current = loads();
    if (!monthInput.value) monthInput.value = thisMonth();
    const params = Object.assign(FQ.filterValues(form), { size: 200 });
    try {
      const data = await api("/meetings" + FQ.query(params));
      if (!current()) return;
      const days = new Map();
      for (const m of data.items) {
        const key = KEY.format(new Date(m.scheduled_at));
        if (!days.has(key)) days.set(key, []);
        days.get(key).push(m);
      }
      const missed = data.items.filter((m) => m.status === "missed").length;
      const held = data.items.filter((m) => m.status === "held").length;
      fill($("meeting-summary"),
        h("span", {}, "本月会商 " + data.total + " 场"), h("span", {}, "已召开 " + held + " 场"),
        h("span", { class: missed ? "is-missed" : "" }, "未按期召开 " + missed + " 场"));
      const rows = [...days.entries()].map(([key, list]) => h("li", { class: "meeting-day" },
        h("div", { class: "meeting-date" }, DAY.format(new Date(list[0].scheduled_at))),
        h("ul", { class: "meeting-list" }, ...list.map(entry))));
      fill($("meeting-days"), ...(rows.length ? rows : [h("li", { class: "muted" }, "本月没有会商")]));
    } catch (error) {
      if (current()) toast(problemText(error), "error");
    }
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  $("month-prev").addEventListener("click", () => shift(-1));
  $("month-next").addEventListener("click", () => shift(1));
  const wanted = new URLSearchParams(location.search).get("month");
  fillMonths(wanted && /^\d{4}-(0[1-9]|1[0-2])$/.test(wanted) ? wanted : null);
  monthInput.addEventListener("change", load);
  load();

  const create = $("meeting-form");
  if (!create) return;
  (async () => {
    try {
      const tree = await api("/org/tree?depth=2");
      const options = [];
      (function walk(node, depth) {
        if (["province", "city", "district", "town", "village"].includes(node.kind)) {
          options.push(h("option", { value: node.id }, "　".repeat(depth) + node.name + "（" + (KIND[node.kind] || "") + "）"));
        }
        for (const child of node.children || []) walk(child, depth + 1);
      })(tree, 0);
      fill($("meeting-area"), ...options);
    } catch (error) {
      toast(problemText(error), "error");
    }
  })();
  create.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(create);
    const body = formData(create);
    if (body.scheduled_at) body.scheduled_at = body.scheduled_at + ":00+08:00";
    try {
      const made = await api("/meetings", { method: "POST", json: body });
      location.assign("/meetings/" + made.id);
    } catch (error) {
      showErrors(create, error);
    }
  });
})();
