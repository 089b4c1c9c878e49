// The TV set-top box (/tv): the service catalogue and a report looked up by its code, driven by
// a remote control only. Arrow keys move the focus to the nearest element in that direction
// (spatial navigation between the elements marked data-nav), OK (Enter) opens, Back (Backspace,
// Escape, the boxes' own back keys) returns; digits type a report code.
//
// ES5 ONLY: set-top boxes run an old WebKit. No let/const, arrow functions, classes, template
// literals, default or rest parameters, destructuring, for-of; no fetch (XMLHttpRequest), no
// Promise, Map, Set, Object.assign, Array.from, String includes/startsWith, Element.closest.
// tests/web/test_tv.py parses this file as ES5; tests/e2e/test_tv.py runs it with those APIs
// removed. Every text is set with textContent: nothing here parses HTML.
(function () {
  "use strict";

  var KEY = { LEFT: 37, UP: 38, RIGHT: 39, DOWN: 40, OK: 13 };
  // Backspace, Escape, and the back keys of common set-top boxes and smart TVs.
  var BACK_KEYS = { 8: true, 27: true, 461: true, 10009: true, 166: true };
  var CATEGORY_PAGE = 16; // 4 × 4 tiles
  var ITEM_PAGE = 6; // 2 × 3 tiles
  var CODE_MIN = 15;
  var CODE_MAX = 18;
  var SCROLL_STEP = 96;

  var state = {
    screen: "home",
    history: [],
    categories: [],
    categoryPage: 0,
    category: "",
    items: [],
    itemPage: 0,
    digits: "",
    busy: false
  };

  // --- small helpers ------------------------------------------------------------------------

  function byId(id) {
    return document.getElementById(id);
  }

  function hasClass(node, name) {
    return (" " + node.className + " ").indexOf(" " + name + " ") >= 0;
  }

  function setClass(node, name, on) {
    var has = hasClass(node, name);
    if (on && !has) {
      node.className = node.className ? node.className + " " + name : name;
    } else if (!on && has) {
      node.className = (" " + node.className + " ").replace(" " + name + " ", " ").replace(/^\s+|\s+$/g, "");
    }
  }

  // An element with a class and children (strings become text nodes, never HTML).
  function el(tag, className, children) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    var list = children === undefined || children === null ? [] : children;
    if (!(list instanceof Array)) list = [list];
    for (var i = 0; i < list.length; i++) {
      var child = list[i];
      if (child === null || child === undefined || child === "") continue;
      node.appendChild(typeof child === "string" || typeof child === "number"
        ? document.createTextNode(String(child)) : child);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function getJSON(path, done) {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", path, true);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) return;
      var body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (error) {
        body = null;
      }
      done(xhr.status, body);
    };
    xhr.send(null);
  }

  // What a refusal says to a person on the sofa.
  function problemText(status, body) {
    if (status === 429) return "查询过于频繁，请稍等一分钟再试";
    if (status === 0) return "网络连接中断，请稍后再试";
    if (body && body.detail_zh) return body.detail_zh;
    return "暂时无法查询，请稍后再试";
  }

  // --- screens and focus --------------------------------------------------------------------

  function screenNode(name) {
    return byId("screen-" + name);
  }

  function navItems() {
    var nodes = screenNode(state.screen).querySelectorAll("[data-nav]");
    var out = [];
    for (var i = 0; i < nodes.length; i++) {
      var rect = nodes[i].getBoundingClientRect();
      if (rect.width > 0 && rect.height > 0) out.push(nodes[i]);
    }
    return out;
  }

  function focusOn(node) {
    if (!node) return;
    node.focus();
  }

  // The focus is never lost: when nothing of the screen holds it, its first element takes it.
  function ensureFocus() {
    var items = navItems();
    var active = document.activeElement;
    for (var i = 0; i < items.length; i++) {
      if (items[i] === active) return;
    }
    focusOn(items[0]);
  }

  function show(name, focusTarget) {
    var screens = document.querySelectorAll(".tv-screen");
    for (var i = 0; i < screens.length; i++) setClass(screens[i], "is-hidden", true);
    var node = screenNode(name);
    setClass(node, "is-hidden", false);
    state.screen = name;
    byId("tv-crumb").textContent = node.getAttribute("data-crumb") || "";
    if (focusTarget) focusOn(focusTarget);
    ensureFocus();
  }

  function go(name, focusTarget) {
    state.history.push({ screen: state.screen, focus: document.activeElement });
    show(name, focusTarget);
  }

  function back() {
    if (!state.history.length) return;
    // The screen comes back as it was left, the focus on the element that opened the next one.
    var last = state.history.pop();
    show(last.screen, last.focus);
  }

  // Spatial navigation: the nearest element whose centre lies in the direction pressed, the
  // distance along the direction counting less than the distance across it.
  function center(rect) {
    return { x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 };
  }

  function nearest(from, direction) {
    var items = navItems();
    var a = from.getBoundingClientRect();
    var ca = center(a);
    var best = null;
    var bestScore = Infinity;
    for (var i = 0; i < items.length; i++) {
      if (items[i] === from) continue;
      var b = items[i].getBoundingClientRect();
      var cb = center(b);
      var along;
      var across;
      if (direction === KEY.RIGHT) { along = cb.x - ca.x; across = Math.abs(cb.y - ca.y); }
      if (direction === KEY.LEFT) { along = ca.x - cb.x; across = Math.abs(cb.y - ca.y); }
      if (direction === KEY.DOWN) { along = cb.y - ca.y; across = Math.abs(cb.x - ca.x); }
      if (direction === KEY.UP) { along = ca.y - cb.y; across = Math.abs(cb.x - ca.x); }
      if (along <= 1) continue;
      var score = along + 2 * across;
      if (score < bestScore) {
        bestScore = score;
        best = items[i];
      }
    }
    return best;
  }

  // A scrolling panel (a guide, a long timeline) takes up and down while it can still scroll.
  function scrolled(node, direction) {
    if (!node || !node.hasAttribute("data-scroll")) return false;
    if (direction === KEY.DOWN && node.scrollTop + node.clientHeight < node.scrollHeight - 1) {
      node.scrollTop = node.scrollTop + SCROLL_STEP;
      return true;
    }
    if (direction === KEY.UP && node.scrollTop > 0) {
      node.scrollTop = Math.max(0, node.scrollTop - SCROLL_STEP);
      return true;
    }
    return false;
  }

  function move(direction) {
    var active = document.activeElement;
    var items = navItems();
    if (items.indexOf(active) < 0) {
      ensureFocus();
      return;
    }
    if (scrolled(active, direction)) return;
    var target = nearest(active, direction);
    if (target) {
      focusOn(target);
      return;
    }
    pageEdge(direction, active);
  }

  // Past the last row of a grid: its next page; past the first: its previous page.
  function pageEdge(direction, active) {
    var forward = direction === KEY.DOWN || direction === KEY.RIGHT;
    if (direction !== KEY.DOWN && direction !== KEY.UP) return;
    var column = Number(active.getAttribute("data-column") || 0);
    if (state.screen === "categories") {
      var lastCategory = Math.ceil(state.categories.length / CATEGORY_PAGE) - 1;
      var nextCategory = state.categoryPage + (forward ? 1 : -1);
      if (nextCategory < 0 || nextCategory > lastCategory) return;
      state.categoryPage = nextCategory;
      renderCategories();
      focusColumn("category-grid", column, forward);
    } else if (state.screen === "items") {
      var lastItem = Math.ceil(state.items.length / ITEM_PAGE) - 1;
      var nextItem = state.itemPage + (forward ? 1 : -1);
      if (nextItem < 0 || nextItem > lastItem) return;
      state.itemPage = nextItem;
      renderItems();
      focusColumn("item-grid", column, forward);
    }
  }

  function focusColumn(gridId, column, first) {
    var tiles = byId(gridId).querySelectorAll("[data-nav]");
    var pick = null;
    for (var i = 0; i < tiles.length; i++) {
      if (Number(tiles[i].getAttribute("data-column")) === column) {
        if (first) {
          pick = tiles[i];
          break;
        }
        pick = tiles[i];
      }
    }
    focusOn(pick || tiles[0]);
  }

  function pagerText(node, page, count, noun) {
    var pages = Math.max(1, Math.ceil(count / (noun === "类" ? CATEGORY_PAGE : ITEM_PAGE)));
    var hint = page < pages - 1 ? " · 在最后一行按下键看下一页" : " · 在第一行按上键回到上一页";
    node.textContent = pages > 1
      ? "第 " + (page + 1) + " / " + pages + " 页 · 共 " + count + " " + noun + hint
      : "共 " + count + " " + noun;
  }

  // --- the catalogue --------------------------------------------------------------------------

  function loading(grid, text) {
    clear(grid);
    grid.appendChild(el("p", "tv-message", text));
  }

  function openCategories() {
    go("categories");
    if (state.categories.length) {
      renderCategories();
      ensureFocus();
      return;
    }
    var grid = byId("category-grid");
    loading(grid, "正在读取……");
    getJSON("/api/v1/public/services/categories", function (status, body) {
      if (status !== 200 || !(body instanceof Array)) {
        loading(grid, problemText(status, body));
        return;
      }
      state.categories = body;
      state.categoryPage = 0;
      renderCategories();
      if (state.screen === "categories") ensureFocus();
    });
  }

  function renderCategories() {
    var grid = byId("category-grid");
    clear(grid);
    var start = state.categoryPage * CATEGORY_PAGE;
    var names = state.categories.slice(start, start + CATEGORY_PAGE);
    for (var i = 0; i < names.length; i++) {
      var tile = el("button", "tv-tile", el("span", "tile-name", names[i]));
      tile.type = "button";
      tile.setAttribute("data-nav", "");
      tile.setAttribute("data-name", names[i]);
      tile.setAttribute("data-column", String(i % 4));
      tile.setAttribute("data-category", names[i]);
      grid.appendChild(tile);
    }
    if (!names.length) grid.appendChild(el("p", "tv-message", "暂无办事指南"));
    pagerText(byId("category-pager"), state.categoryPage, state.categories.length, "类");
  }

  function openCategory(name) {
    state.category = name;
    state.items = [];
    state.itemPage = 0;
    byId("items-title").textContent = "办事指南 · " + name;
    var grid = byId("item-grid");
    loading(grid, "正在读取……");
    byId("item-pager").textContent = "";
    go("items");
    getJSON("/api/v1/public/services?size=500&category=" + encodeURIComponent(name), function (status, body) {
      if (status !== 200 || !body || !(body.items instanceof Array)) {
        loading(grid, problemText(status, body));
        return;
      }
      if (state.category !== name) return;
      state.items = body.items;
      renderItems();
      if (state.screen === "items") ensureFocus();
    });
  }

  function renderItems() {
    var grid = byId("item-grid");
    clear(grid);
    var start = state.itemPage * ITEM_PAGE;
    var page = state.items.slice(start, start + ITEM_PAGE);
    for (var i = 0; i < page.length; i++) {
      var item = page[i];
      var meta = "办理时限 " + item.time_limit_text + (item.proxy_allowed ? " · 可代办" : "");
      var tile = el("button", "tv-tile tile-item", [
        el("span", "tile-name", item.name),
        el("span", "tile-meta", meta)
      ]);
      tile.type = "button";
      tile.setAttribute("data-nav", "");
      tile.setAttribute("data-index", String(start + i));
      tile.setAttribute("data-column", String(i % 2));
      grid.appendChild(tile);
    }
    if (!page.length) grid.appendChild(el("p", "tv-message", "这一类暂无事项"));
    pagerText(byId("item-pager"), state.itemPage, state.items.length, "项");
  }

  function fact(term, value) {
    return [el("dt", null, term), el("dd", null, value)];
  }

  function openGuide(item) {
    var guide = byId("guide");
    clear(guide);
    guide.scrollTop = 0;
    var facts = el("dl", "guide-facts");
    var rows = [].concat(
      fact("办理地点", item.level_names.join("、")),
      fact("办理时限", item.time_limit_text),
      fact("收费标准", item.fee),
      fact("办理单位", item.unit_name),
      fact("代办", item.proxy_allowed ? "可请所在网格的网格员代办" : "须本人办理")
    );
    for (var i = 0; i < rows.length; i++) facts.appendChild(rows[i]);
    var materials = el("ol", "guide-materials");
    for (var j = 0; j < item.materials.length; j++) materials.appendChild(el("li", null, item.materials[j]));
    guide.appendChild(el("h1", "tv-title guide-name", item.name));
    guide.appendChild(el("div", "guide-columns", [
      el("div", "guide-col", facts),
      el("div", "guide-col", [
        el("h2", "tv-sub", "申请材料"),
        item.materials.length ? materials : el("p", null, "无需材料"),
        item.description ? el("h2", "tv-sub", "办理说明") : null,
        item.description ? el("p", "guide-text", item.description) : null
      ])
    ]));
    go("guide", guide);
  }

  // --- a report by its code -------------------------------------------------------------------

  function renderCode() {
    var box = byId("code-box");
    clear(box);
    // Shown as the code is printed: town (3) - day (8) - sequence (4), blanks still to type.
    var groups = [3, 8, Math.max(4, state.digits.length - 11)];
    var at = 0;
    for (var g = 0; g < groups.length; g++) {
      if (g > 0) box.appendChild(el("span", "code-dash", "-"));
      for (var i = 0; i < groups[g]; i++) {
        var digit = state.digits.charAt(at);
        box.appendChild(el("span", digit ? "code-digit" : "code-digit is-blank", digit || "_"));
        at += 1;
      }
    }
  }

  function say(text, kind) {
    var node = byId("lookup-message");
    node.textContent = text;
    node.className = "tv-message" + (kind ? " is-" + kind : "");
  }

  function typeDigit(digit) {
    if (state.digits.length >= CODE_MAX) {
      say("编号最多 " + CODE_MAX + " 位", "error");
      return;
    }
    state.digits += digit;
    say("", "");
    renderCode();
    // A whole code typed: the focus moves to 查询, so the next OK searches instead of adding
    // another digit (a longer code can still be typed with the remote's digit keys).
    if (state.digits.length === CODE_MIN) {
      focusOn(byId("pad-search"));
      say("编号已输完，按确认键查询", "");
    }
  }

  function deleteDigit() {
    state.digits = state.digits.slice(0, -1);
    say("", "");
    renderCode();
  }

  function openLookup() {
    go("lookup");
    renderCode();
  }

  function search() {
    if (state.busy) return;
    if (state.digits.length < CODE_MIN) {
      say("编号不完整，还差 " + (CODE_MIN - state.digits.length) + " 位", "error");
      return;
    }
    state.busy = true;
    say("正在查询……", "");
    getJSON("/api/v1/public/report-lookup/" + state.digits, function (status, body) {
      state.busy = false;
      if (state.screen !== "lookup") return; // the viewer left before the answer came
      if (status === 200 && body) {
        say("", "");
        showReport(body);
      } else if (status === 404) {
        say("没有找到这个编号的上报，请核对回执上的编号", "error");
      } else {
        say(problemText(status, body), "error");
      }
    });
  }

  function button(id, text) {
    var node = el("button", "tv-button", text);
    node.type = "button";
    node.id = id;
    node.setAttribute("data-nav", "");
    return node;
  }

  function showReport(report) {
    var head = byId("report-head");
    clear(head);
    head.appendChild(el("p", "report-code", "编号 " + report.code));
    head.appendChild(el("p", "report-category", report.category));
    head.appendChild(el("p", "report-status status-" + report.status, report.status_zh));
    head.appendChild(el("p", "report-time", "上报于 " + report.reported_text));
    head.appendChild(button("report-again", "再查一个"));
    head.appendChild(button("report-home", "回到首页"));
    var steps = byId("report-steps");
    clear(steps);
    steps.scrollTop = 0;
    var list = el("ol", "steps");
    for (var i = 0; i < report.steps.length; i++) {
      var step = report.steps[i];
      list.appendChild(el("li", "step step-" + step.key, [
        el("span", "step-time", step.at_text),
        el("span", "step-words", step.words)
      ]));
    }
    steps.appendChild(list);
    go("report", byId("report-again"));
  }

  // --- the remote ---------------------------------------------------------------------------

  function activate(node) {
    if (!node || !node.getAttribute) return;
    var target = node.getAttribute("data-go");
    if (target === "categories") openCategories();
    else if (target === "lookup") openLookup();
    else if (node.hasAttribute("data-category")) openCategory(node.getAttribute("data-category"));
    else if (node.hasAttribute("data-index")) openGuide(state.items[Number(node.getAttribute("data-index"))]);
    else if (node.hasAttribute("data-digit")) typeDigit(node.getAttribute("data-digit"));
    else if (node.getAttribute("data-pad") === "delete") deleteDigit();
    else if (node.getAttribute("data-pad") === "search") search();
    else if (node.id === "report-again") {
      state.digits = "";
      back();
      renderCode();
    } else if (node.id === "report-home") {
      state.history = [];
      show("home", byId("go-lookup"));
    }
  }

  function digitOf(code) {
    if (code >= 48 && code <= 57) return String(code - 48);
    if (code >= 96 && code <= 105) return String(code - 96); // the number pad
    return null;
  }

  document.addEventListener("keydown", function (event) {
    var code = event.keyCode || event.which;
    if (code === KEY.LEFT || code === KEY.RIGHT || code === KEY.UP || code === KEY.DOWN) {
      event.preventDefault();
      move(code);
    } else if (code === KEY.OK) {
      event.preventDefault();
      activate(document.activeElement);
    } else if (BACK_KEYS[code]) {
      event.preventDefault();
      back();
    } else {
      var digit = digitOf(code);
      if (digit === null) return;
      event.preventDefault();
      if (state.screen !== "lookup") openLookup();
      typeDigit(digit);
    }
  }, false);

  // A click (a remote whose OK is a click, a box with a pointer) does what OK does.
  document.addEventListener("click", function (event) {
    var node = event.target;
    while (node && node !== document && !(node.hasAttribute && node.hasAttribute("data-nav"))) {
      node = node.parentNode;
    }
    if (node && node !== document) {
      event.preventDefault();
      focusOn(node);
      activate(node);
    }
  }, false);

  // Nothing may take the focus away for good (a click on the background, a node removed).
  window.setInterval(ensureFocus, 500);

  renderCode();
  show("home");
})();
