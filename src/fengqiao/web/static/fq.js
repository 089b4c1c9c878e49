// What every page shares: the API client (session cookie + CSRF header), problem+json errors
// shown on forms, escaping, time formats, badges and toasts. UI words come from #fq-labels.
(function () {
  "use strict";

  const API = "/api/v1";
  const labelsBlock = document.getElementById("fq-labels");
  const T = labelsBlock ? JSON.parse(labelsBlock.textContent) : {};
  const csrfMeta = document.querySelector("meta[name=csrf-token]");
  const CSRF = csrfMeta ? csrfMeta.content : "";
  const TIME = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hour12: false,
  });
  const SHORT = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", hour12: false,
  });

  // Set when a sign-out form is sent (every page's 退出 is a form posting to /logout).
  let signingOut = false;
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.getAttribute("action") === "/logout") signingOut = true;
  }, true);

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail_zh || problem.detail)) || "HTTP " + status);
      this.status = status;
      this.problem = problem;
    }
  }

  // fetch against /api/v1. options: {method, json, body, headers, raw}. Throws ApiError.
  async function api(path, options) {
    const opts = options || {};
    const method = (opts.method || "GET").toUpperCase();
    const headers = new Headers(opts.headers || {});
    headers.set("Accept", "application/json");
    let body = opts.body;
    if (opts.json !== undefined) {
      headers.set("Content-Type", "application/json");
      body = JSON.stringify(opts.json);
    }
    if (method !== "GET" && method !== "HEAD") headers.set("X-CSRF-Token", CSRF);
    let response;
    try {
      response = await fetch(path.startsWith("/") && !path.startsWith(API) ? API + path : path, {
        method: method, headers: headers, body: body, credentials: "same-origin",
      });
    } catch (_err) {
      throw new ApiError(0, null);
    }
    if (response.status === 401 && !opts.noRedirect) {
      // Signing out revokes the session before the page leaves: a read answered 401 meanwhile
      // must not send the browser to 登录已过期 instead of the logout's own 您已安全退出.
      if (!signingOut) {
        const next = location.pathname + location.search;
        location.assign("/login?reason=expired&next=" + encodeURIComponent(next));
      }
      throw new ApiError(401, null);
    }
    if (opts.raw) return response;
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  function problemText(error) {
    if (error instanceof ApiError) {
      if (error.status === 0) return "无法连接服务器，请检查网络后重试";
      const p = error.problem;
      if (p) {
        const head = p.title_zh && p.detail_zh && p.title_zh !== p.detail_zh
          ? p.title_zh + "：" + p.detail_zh : p.detail_zh || p.title_zh;
        const parts = [head || p.detail || ("请求失败（" + error.status + "）")];
        for (const e of p.errors || []) {
          const reason = e.reason_zh || e.reason || "";
          if (!parts[0].includes(reason)) parts.push(e.field_zh ? e.field_zh + "：" + reason : reason);
        }
        return parts.join("；");
      }
      return "请求失败（" + error.status + "）";
    }
    return (error && error.message) || "请求失败";
  }

  // Show an API refusal on a form: the message in its .form-error, each named field marked.
  function showErrors(form, error) {
    clearErrors(form);
    const box = form.querySelector(".form-error");
    const message = problemText(error);
    if (box) {
      box.textContent = message;
      box.hidden = false;
    } else {
      toast(message, "error");
    }
    const problem = error instanceof ApiError ? error.problem : null;
    for (const e of (problem && problem.errors) || []) {
      const name = String(e.field || "").split(".").pop();
      const input = name && form.querySelector("[name='" + CSS.escape(name) + "']");
      if (input) {
        input.classList.add("is-invalid");
        input.setAttribute("aria-invalid", "true");
        const hint = document.createElement("span");
        hint.className = "field-error";
        hint.textContent = e.reason_zh || e.reason || "";
        input.insertAdjacentElement("afterend", hint);
      }
    }
  }

  function clearErrors(form) {
    const box = form.querySelector(".form-error");
    if (box) {
      box.textContent = "";
      box.hidden = true;
    }
    form.querySelectorAll(".field-error").forEach((n) => n.remove());
    form.querySelectorAll(".is-invalid").forEach((n) => {
      n.classList.remove("is-invalid");
      n.removeAttribute("aria-invalid");
    });
  }

  // The one escape helper: every string that reaches an HTML sink (a Leaflet tooltip or popup
  // given text, a template string) goes through it, or the script builds DOM nodes with h().
  // tests/web/test_sinks.py fails on a sink fed anything else.
  function esc(value) {
    return String(value == null ? "" : value).replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    })[c]);
  }

  // A DOM element from a tag, attributes and children (strings become text, never HTML).
  // `style` takes an object set through the DOM (the CSP refuses a style attribute).
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value == null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "style") Object.assign(node.style, value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child == null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // A link someone typed (a camera's stream address): only web and streaming addresses, never
  // javascript: or data:; anything else is no link at all.
  function safeUrl(value) {
    const text = String(value == null ? "" : value).trim();
    return /^(https?|rtsp|rtmp):\/\//i.test(text) ? text : null;
  }

  // An ECharts tooltip as DOM nodes, the answer of a `formatter`: ECharts puts a string answer
  // into innerHTML, and its default markup carries style attributes the CSP refuses. An axis
  // tooltip lists each series; an item tooltip names the item (with its share on a pie).
  function chartTip(params) {
    const axis = Array.isArray(params);
    const items = axis ? params : [params];
    if (!items.length) return h("div", { class: "chart-tip" });
    const row = (p) => {
      const dot = h("span", { class: "chart-dot" });
      if (typeof p.color === "string") dot.style.backgroundColor = p.color;
      const raw = Array.isArray(p.value) ? p.value[p.value.length - 1] : p.value;
      const value = typeof raw === "number" ? number(raw) : raw == null ? "—" : String(raw);
      return h("div", { class: "chart-tip-row" }, dot, axis ? p.seriesName : p.name, " ",
        h("strong", {}, value), p.percent != null ? "(" + p.percent + "%)" : null);
    };
    const head = axis ? items[0].axisValueLabel : /^series\d*$/.test(String(items[0].seriesName).replace(/\0/g, ""))
      ? null : items[0].seriesName;
    return h("div", { class: "chart-tip" }, head ? h("div", { class: "chart-tip-head" }, head) : null,
      items.map(row));
  }

  // Replace an element's children; arrays are flattened, null and false left out.
  function fill(node, ...children) {
    node.replaceChildren(...children.flat(Infinity).filter((c) => c != null && c !== false));
    return node;
  }

  function time(iso) {
    return iso ? TIME.format(new Date(iso)).replace(/\//g, "-") : "—";
  }

  function short(iso) {
    return iso ? SHORT.format(new Date(iso)).replace(/\//g, "-") : "—";
  }

  // "剩 5 小时" / "超期 2 天" from a deadline.
  function remaining(iso) {
    if (!iso) return "";
    const ms = new Date(iso).getTime() - Date.now();
    const hours = Math.abs(ms) / 3600000;
    const span = hours >= 48 ? Math.round(hours / 24) + " 天" : hours >= 1
      ? Math.round(hours) + " 小时" : Math.max(1, Math.round(hours * 60)) + " 分钟";
    return ms >= 0 ? "剩 " + span : "超期 " + span;
  }

  function number(value) {
    return value == null ? "—" : Number(value).toLocaleString("zh-CN");
  }

  function lightBadge(light) {
    if (!light) return h("span", { class: "light light-none" }, "—");
    return h("span", { class: "light light-" + light, title: T.lights[light] }, T.lights[light]);
  }

  function statusBadge(status) {
    return h("span", { class: "status status-" + status }, (T.status || {})[status] || status);
  }

  function toast(message, kind) {
    let box = document.getElementById("toasts");
    if (!box) {
      box = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
      document.body.append(box);
    }
    const item = h("div", { class: "toast toast-" + (kind || "info") }, message);
    box.append(item);
    setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
  }

  // Form fields to an object; empty strings are dropped, numbers stay strings unless data-int.
  function formData(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.type === "file" || el.type === "submit") continue;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) continue;
      let value = el.type === "checkbox" && el.value === "on" ? true : el.value;
      if (value === "") continue;
      if (el.dataset.int !== undefined) value = parseInt(value, 10);
      if (el.dataset.float !== undefined) value = parseFloat(value);
      if (el.dataset.bool !== undefined) value = value === "true" || value === true;
      out[el.name] = value;
    }
    return out;
  }

  function query(params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== "" && value != null) search.set(key, value);
    }
    const text = search.toString();
    return text ? "?" + text : "";
  }

  // A list form's filters as query parameters: named fields with a value, a checkbox when ticked.
  function filterValues(form) {
    const out = {};
    for (const el of form ? form.elements : []) {
      if (!el.name || el.type === "submit" || el.type === "reset" || el.type === "button") continue;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) continue;
      const value = el.value.trim();
      if (value) out[el.name] = value;
    }
    return out;
  }

  // Numbers the requests of one kind on a page (the rows for the filters chosen, the detail of the
  // row clicked): a slower answer to an older request must not replace what a newer one shows.
  // `const ask = FQ.latest();` once, then per request `const current = ask();` and, after each
  // await, `if (!current()) return;` (false once a newer request of the kind was asked).
  function latest() {
    let asked = 0;
    return () => {
      const mine = ++asked;
      return () => mine === asked;
    };
  }

  // The API's paging styles (docs/api.md "Paging"): what a request adds for a position `at`
  // (null for the first page) and where the next page starts (null at the end).
  const PAGING = {
    page: { ask: (at, size) => ({ page: at || 1, size: size }),
      next: (data, at, shown) => (shown < data.total ? (at || 1) + 1 : null) },
    cursor: { ask: (at, size) => ({ cursor: at, size: size }), next: (data) => data.next_cursor || null },
    before: { ask: (at, size) => ({ before: at, limit: size }), next: (data) => data.next_before || null },
    none: { ask: (_at, size) => ({ limit: size }), next: () => null },
  };

  // The one loader of every list page: fetches with the filter form's values, renders rows as DOM
  // nodes (`row` answers one with h()), pages on with "加载更多", counts what is shown, and says
  // when nothing matched or the query failed. A late answer to an older query is dropped: it would
  // replace the rows (and a note being typed in them) of the query asked since.
  // options: {path, paging (page | cursor | before | none), size, row, form, target (tbody or ul),
  //   more, status (the count's element), empty, noun, counted(shown, total), params(), extra(reset),
  //   onQuery(params) (a new query is asked), onLoad(data, params, reset) (its rows are shown)}.
  // Submitting or resetting the form asks anew; the page calls load(true) for the first rows.
  function list(options) {
    const o = Object.assign({ paging: "page", size: 50, empty: "暂无记录", noun: "条" }, options);
    const paging = PAGING[o.paging];
    const target = o.target;
    const more = o.more;
    const status = o.status === undefined ? document.getElementById("list-shown") : o.status;
    const counted = o.counted || ((shown, total) => "已显示 " + shown + " " + o.noun
      + (total != null ? "，共 " + total + " " + o.noun : ""));
    let at = null;
    let shown = 0;
    let total = null;
    let asked = 0;
    let loading = false;

    // A single row across the table (or a list item) saying why there are no rows.
    function notice(text) {
      if (target.tagName === "UL" || target.tagName === "OL") return h("li", { class: "muted empty" }, text);
      const head = target.closest("table") && target.closest("table").tHead;
      const columns = head && head.rows.length ? head.rows[0].cells.length : 1;
      return h("tr", { class: "muted empty" }, h("td", { colspan: columns }, text));
    }

    function count() {
      if (status) status.textContent = counted(shown, total);
    }

    async function load(reset) {
      const mine = ++asked;
      const params = o.params ? o.params() : filterValues(o.form);
      if (reset && o.onQuery) o.onQuery(params);
      const from = reset ? null : at;
      loading = true;
      if (more) more.disabled = true;
      let data;
      try {
        data = await api(o.path + query(Object.assign({}, params, paging.ask(from, o.size),
          o.extra ? o.extra(reset) : {})));
      } catch (error) {
        if (mine !== asked) return;
        loading = false;
        if (more) more.disabled = false;
        if (o.form) showErrors(o.form, error);
        else toast(problemText(error), "error");
        if (reset) {
          fill(target, notice("查询失败"));
          if (more) more.hidden = true;
        }
        return;
      }
      // An answer to an older query that arrives late must not replace the rows of the query
      // asked since.
      if (mine !== asked) return;
      loading = false;
      if (more) more.disabled = false;
      if (o.form) clearErrors(o.form);
      const items = Array.isArray(data) ? data : data.items;
      const rows = items.map(o.row);
      if (reset) {
        shown = 0;
        fill(target, rows.length ? rows : notice(o.empty));
      } else {
        target.append(...rows);
      }
      target.dataset.query = query(params);  // which query the rows answer (tests wait for it)
      shown += rows.length;
      total = data.total != null ? data.total : reset ? null : total;
      at = paging.next(data, from, shown);
      if (more) more.hidden = at == null;
      count();
      if (o.onLoad) o.onLoad(data, params, reset);
    }

    // One row that arrived by itself (a live message) goes on top.
    function prepend(item) {
      target.querySelector(".empty")?.remove();
      target.prepend(o.row(item));
      shown += 1;
      if (total != null) total += 1;
      count();
    }

    if (o.form) {
      o.form.addEventListener("submit", (event) => {
        event.preventDefault();
        load(true);
      });
      o.form.addEventListener("reset", () => setTimeout(() => load(true), 0));
    }
    if (more) more.addEventListener("click", () => { if (!loading) load(false); });
    return { load, prepend };
  }

  // Column heads that order a list: each <th data-sort="key"> becomes a button; a click orders by
  // its key ascending, a second click descending. The order lives in `input` (a hidden field of
  // the list's filter form, so it travels in the address with the filters; empty: the server's
  // default, which `fallback()` names). The head in force shows an arrow and aria-sort.
  // options: {fallback() (the order when the field is empty), onChange(order)}.
  function sortable(table, input, options) {
    const o = Object.assign({ fallback: () => "", onChange: () => {} }, options);
    const heads = [...table.querySelectorAll("th[data-sort]")];

    function show() {
      const order = input.value || o.fallback();
      const key = order.replace(/^-/, "");
      const down = order.startsWith("-");
      for (const th of heads) {
        const on = th.dataset.sort === key;
        th.setAttribute("aria-sort", on ? (down ? "descending" : "ascending") : "none");
        th.classList.toggle("is-sorted", on);
        th.querySelector(".sort-arrow").textContent = on ? (down ? "↓" : "↑") : "";
      }
    }

    for (const th of heads) {
      const button = h("button", { type: "button", class: "sort-head", title: th.title || "点击排序" },
        th.textContent.trim(), h("span", { class: "sort-arrow", "aria-hidden": "true" }));
      th.removeAttribute("title");
      th.replaceChildren(button);
      button.addEventListener("click", () => {
        const key = th.dataset.sort;
        input.value = (input.value || o.fallback()) === key ? "-" + key : key;
        show();
        o.onChange(input.value);
      });
    }
    show();
    return { show };
  }

  // Cameras (视频监控): the colour of each status, and one camera of a "附近视频" list (the
  // one-map's event card and the event page show the same).
  // Cameras' own colours: never the red/yellow/green an event's light uses on the same map.
  const CAMERA_COLOURS = { online: "#00838f", offline: "#9aa0a6", fault: "#4a148c" };
  const CAMERA_STATUS = T.cameraStatus || {};

  function cameraBadge(status) {
    return h("span", { class: "cam-status cam-" + status }, CAMERA_STATUS[status] || status);
  }

  function cameraItem(c) {
    const seen = c.status !== "online" && c.last_seen_at ? " · 最后在线 " + short(c.last_seen_at) : "";
    return h("li", { class: "camera-item", dataset: { code: c.code, status: c.status } },
      cameraBadge(c.status), " ", h("strong", {}, c.name), " ",
      h("span", { class: "muted" }, Math.round(c.distance_m) + " 米" + seen),
      // 播放 in the page (video.js, on the pages that load it), not a stream link no browser opens.
      window.FQ.video ? h("button", { type: "button", class: "btn btn-small play", title: c.code,
        onclick: () => window.FQ.video.play(c) }, "播放") : null);
  }

  // A Leaflet map (Leaflet loads after this file, on the pages that draw maps) whose controls speak
  // Chinese: the zoom buttons' titles, and no English attribution prefix.
  function leafletMap(element, options) {
    const map = L.map(element, Object.assign({}, options, { zoomControl: false }));
    if (!options || options.zoomControl !== false) {
      L.control.zoom({ zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);
    }
    if (map.attributionControl) map.attributionControl.setPrefix(false);
    return map;
  }

  // An offline queue of reports in IndexedDB (photos kept as blobs), one database per app:
  // the worker app's and the residents' 随手拍. Items carry their own `key`.
  function offlineQueue(name) {
    let opened = null;
    function idb() {
      if (!opened) {
        opened = new Promise((resolve, reject) => {
          const open = indexedDB.open(name, 1);
          open.onupgradeneeded = () => open.result.createObjectStore("reports", { keyPath: "key" });
          open.onsuccess = () => resolve(open.result);
          open.onerror = () => reject(open.error);
        });
      }
      return opened;
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
    return {
      all: () => store("readonly", (s) => s.getAll()),
      put: (item) => store("readwrite", (s) => s.put(item)),
      remove: (key) => store("readwrite", (s) => s.delete(key)),
    };
  }

  window.FQ = {
    T, API, CSRF, ApiError, api, problemText, showErrors, clearErrors, esc, h, fill, safeUrl,
    chartTip, time, short, offlineQueue, latest,
    remaining, number, lightBadge, statusBadge, toast, formData, query, filterValues, list, sortable,
    CAMERA_COLOURS, CAMERA_STATUS, cameraBadge, cameraItem, leafletMap,
  };
})();
