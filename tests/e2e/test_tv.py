"""The TV set-top box (/tv) in Chromium at 1280×720, driven like a remote control: arrow keys,
Enter (OK), Backspace and Escape (Back) and digits only, never the mouse. The browser first loses
what an old WebKit lacks (fetch, Promise, Map, Set, Symbol, Object.assign, Array.from, …; the
init script below runs before the page's own script), so the page works only if its script is
ES5 on ES5 built-ins. On every screen: nothing overflows the 1280×720 screen or is cut off, and
the focus is on an element of the screen, in view, ringed. A screenshot per screen."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Api, LiveServer, Visit, open_visit
from tests.events.conftest import World

TV = {"width": 1280, "height": 720}

# What an old WebKit does not have: removed before any script of the page runs. Playwright's
# page.evaluate needs Map and Set itself, so a check of the layout asks for them back with a key
# the page does not use (F9) and strips them again (F10) as soon as it has answered: every key
# press, request and answer of the page happens without them.
OLD_WEBKIT = """
(function () {
  var globals = ["fetch", "Promise", "Map", "Set", "WeakMap", "WeakSet", "Symbol", "Proxy",
    "Reflect", "URLSearchParams", "IntersectionObserver", "requestIdleCallback",
    "customElements", "AbortController", "queueMicrotask", "structuredClone"];
  var members = [[Object, "assign"], [Object, "entries"], [Object, "values"], [Array, "from"],
    [Array, "of"], [Array.prototype, "includes"], [Array.prototype, "find"],
    [Array.prototype, "findIndex"], [Array.prototype, "fill"], [String.prototype, "includes"],
    [String.prototype, "startsWith"], [String.prototype, "endsWith"],
    [String.prototype, "padStart"], [String.prototype, "repeat"], [Element.prototype, "closest"],
    [Element.prototype, "append"], [Element.prototype, "prepend"], [Element.prototype, "remove"],
    [Element.prototype, "toggleAttribute"], [Element.prototype, "replaceWith"]];
  var saved = [];
  function strip() {
    saved = [];
    var gone = [];
    for (var i = 0; i < globals.length; i++) {
      saved.push([window, globals[i], window[globals[i]]]);
      try { delete window[globals[i]]; } catch (e) {}
      if (typeof window[globals[i]] !== "undefined") window[globals[i]] = undefined;
      if (typeof window[globals[i]] === "undefined") gone.push(globals[i]);
    }
    for (var j = 0; j < members.length; j++) {
      var owner = members[j][0], name = members[j][1];
      saved.push([owner, name, owner[name]]);
      try { delete owner[name]; } catch (e) {}
      if (typeof owner[name] === "undefined") gone.push(name);
    }
    mark(gone.join(","));
  }
  function mark(text) {
    if (document.documentElement) document.documentElement.setAttribute("data-removed", text);
    else document.addEventListener("DOMContentLoaded", function () { mark(text); }, false);
  }
  // F9 gives them back, F10 takes them again: keys typed by the browser, no script of the test.
  window.addEventListener("keydown", function (event) {
    if (event.keyCode !== 120 && event.keyCode !== 121) return;
    event.stopImmediatePropagation();
    if (event.keyCode === 121) { strip(); return; }
    for (var i = 0; i < saved.length; i++) saved[i][0][saved[i][1]] = saved[i][2];
    mark("");
  }, true);
  strip();
})();
"""

# Every visible element inside the screen (or, inside a scrolling panel, inside the panel's
# width), none cut off sideways; the document itself never scrolls.
LAYOUT = """
function () {
  var W = 1280, H = 720, bad = [];
  var doc = document.documentElement;
  if (doc.scrollWidth > W || doc.scrollHeight > H) bad.push("document " + doc.scrollWidth + "x" + doc.scrollHeight);
  var main = document.querySelector(".tv-main").getBoundingClientRect();
  var nodes = document.querySelectorAll(".tv-head *, .tv-keys *, .tv-screen:not(.is-hidden) *");
  function label(node) { return node.tagName + "." + node.className + " " + (node.textContent || "").slice(0, 20); }
  for (var i = 0; i < nodes.length; i++) {
    var node = nodes[i];
    var r = node.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    var scroller = null;
    for (var p = node.parentNode; p && p.getAttribute; p = p.parentNode) {
      if (p.hasAttribute("data-scroll")) { scroller = p; break; }
    }
    var inMain = !!(node.parentNode && document.querySelector(".tv-main").contains(node));
    var box = scroller ? scroller.getBoundingClientRect() : (inMain ? main : { left: 0, top: 0, right: W, bottom: H });
    if (r.left < box.left - 1 || r.right > box.right + 1) bad.push("sideways out: " + label(node));
    if (!scroller && (r.top < box.top - 1 || r.bottom > box.bottom + 1)) bad.push("out of the screen: " + label(node));
    var style = window.getComputedStyle(node);
    if (!node.hasAttribute("data-scroll") && style.overflowX !== "visible" && node.scrollWidth > node.clientWidth + 1) bad.push("cut off sideways: " + label(node));
    if (!node.hasAttribute("data-scroll") && style.overflowY !== "visible" && node.scrollHeight > node.clientHeight + 1) bad.push("cut off: " + label(node));
    if (/^(SPAN|P|LI|DD|DT|H1|H2|BUTTON)$/.test(node.tagName) && node.childNodes.length && parseFloat(style.fontSize) < 24) bad.push("type under 24 px: " + label(node));
  }
  return bad;
}
"""

# The focused element: of the shown screen, marked for the remote, in view, with its ring.
FOCUS = """
function () {
  var node = document.activeElement;
  if (!node || node === document.body) return "nothing has the focus";
  var screen = document.querySelector(".tv-screen:not(.is-hidden)");
  if (!screen.contains(node)) return "the focus is off the screen shown";
  if (!node.hasAttribute("data-nav")) return "the focus is on an element the remote cannot reach";
  var r = node.getBoundingClientRect();
  if (r.left < 0 || r.top < 0 || r.right > 1280 || r.bottom > 720) return "the focused element is out of view";
  var style = window.getComputedStyle(node);
  if (style.borderTopColor !== "rgb(255, 213, 74)" || parseFloat(style.borderTopWidth) < 4) return "no focus ring: " + style.borderTopColor;
  return "";
}
"""


@pytest.fixture
def tv(browser: Browser, live_server: LiveServer) -> Iterator[Visit]:
    """A 1280×720 tab whose browser has lost what an old WebKit lacks."""
    visit = open_visit(browser, live_server, TV)  # type: ignore[arg-type]
    visit.page.context.add_init_script(OLD_WEBKIT)
    visit.page.goto(f"{live_server.base_url}/tv")
    yield visit
    visit.page.context.close()


def check(visit: Visit, name: str) -> None:
    """The screen fits, the focus shows; a screenshot to look at."""
    page = visit.page
    page.wait_for_timeout(150)  # the focus lift's transition
    page.keyboard.press("F9")
    try:
        assert page.evaluate(f"({LAYOUT})()") == [], name
        assert page.evaluate(f"({FOCUS})()") == "", name
    finally:
        page.keyboard.press("F10")
    assert "fetch" in (page.locator("html").get_attribute("data-removed") or "")
    # Chinese only: no Latin word reaches the screen (digits and dashes of codes are data).
    text = page.locator("body").inner_text()
    assert not re.search(r"[A-Za-z]", text), text
    visit.screenshot(f"tv-{name}")


def focused(page: Page) -> dict[str, str]:
    """The focused element's id and text, read from Playwright's isolated world."""
    node = page.locator(":focus")
    expect(node).to_have_count(1)
    return {
        "id": node.get_attribute("id") or "",
        "text": " ".join((node.text_content() or "").split()),
    }


def press(page: Page, *keys: str) -> None:
    for key in keys:
        page.keyboard.press(key)


def test_the_box_runs_on_es5_and_walks_the_catalogue_by_remote(
    tv: Visit, live_server: LiveServer
) -> None:
    page = tv.page
    removed = (page.locator("html").get_attribute("data-removed") or "").split(",")
    for name in ("fetch", "Promise", "Map", "Set", "Symbol", "assign", "from", "closest"):
        assert name in removed, name
    expect(page.locator("#screen-home")).to_be_visible()
    assert focused(page)["id"] == "go-guide"
    check(tv, "home")
    press(page, "ArrowRight")
    assert focused(page)["id"] == "go-lookup"
    press(page, "ArrowLeft", "Enter")

    categories = httpx.get(f"{live_server.base_url}/api/v1/public/services/categories").json()
    tiles = page.locator("#category-grid .tv-tile")
    expect(tiles).to_have_count(min(len(categories), 16))
    assert focused(page)["text"] == categories[0]
    check(tv, "categories")
    # 养老服务: down and right to its tile, as many presses as its place in the 4-wide grid.
    target = categories.index("养老服务")
    press(page, *["ArrowDown"] * (target // 4), *["ArrowRight"] * (target % 4))
    assert focused(page)["text"] == "养老服务"
    press(page, "Enter")
    expect(page.locator("#items-title")).to_have_text("办事指南 · 养老服务")
    items = page.locator("#item-grid .tv-tile")
    expect(items.first).to_be_visible()
    check(tv, "items")
    shown = page.locator("#item-grid .tile-name")
    names = [(shown.nth(i).text_content() or "").strip() for i in range(shown.count())]
    wanted = next(n for n in names if "高龄津贴" in n)
    place = names.index(wanted)
    press(page, *["ArrowDown"] * (place // 2), *["ArrowRight"] * (place % 2))
    assert focused(page)["text"].startswith(wanted)
    press(page, "Enter")

    guide = page.locator("#guide")
    expect(guide).to_contain_text(wanted)
    expect(guide).to_contain_text("申请材料")
    expect(guide).to_contain_text("居民身份证")
    expect(guide).to_contain_text("10 个工作日")
    expect(guide).to_contain_text("民政办")
    assert focused(page)["id"] == "guide"
    check(tv, "guide")
    press(page, "ArrowDown", "ArrowDown", "ArrowUp")  # the guide scrolls, the focus stays
    assert focused(page)["id"] == "guide"

    press(page, "Backspace")  # Back: the item list, the focus on the item it came from
    expect(page.locator("#screen-items")).to_be_visible()
    assert focused(page)["text"].startswith(wanted)
    press(page, "Escape")  # Back again: the categories, on the category it came from
    expect(page.locator("#screen-categories")).to_be_visible()
    assert focused(page)["text"] == "养老服务"
    press(page, "Backspace")
    expect(page.locator("#screen-home")).to_be_visible()
    assert focused(page)["id"] == "go-guide"
    tv.assert_clean()


def test_a_report_by_its_code_with_the_digit_keys(
    tv: Visit, api: Api, world: World, live_server: LiveServer
) -> None:
    event = api.file(world, description="楼下王五的摊位占了人行道")
    event = api.act(event, "demo_operator", "accept")
    event = api.act(event, "demo_operator", "dispatch")
    code = event["code"]
    digits = code.replace("-", "")
    public = httpx.get(f"{live_server.base_url}/api/v1/public/report-lookup/{digits}").json()

    page = tv.page
    press(page, "ArrowRight", "Enter")
    expect(page.locator("#screen-lookup")).to_be_visible()
    assert focused(page)["text"] == "1"
    # The first digits on the screen's pad, by arrows and OK, like a remote without digit keys.
    pad = {"1": (0, 0), "2": (0, 1), "3": (0, 2), "4": (1, 0), "5": (1, 1), "6": (1, 2),
           "7": (2, 0), "8": (2, 1), "9": (2, 2), "0": (3, 1)}  # fmt: skip
    row, col = 0, 0
    for digit in digits[:3]:
        to_row, to_col = pad[digit]
        keys = ["ArrowDown" if to_row > row else "ArrowUp"] * abs(to_row - row)
        keys += ["ArrowRight" if to_col > col else "ArrowLeft"] * abs(to_col - col)
        press(page, *keys)
        assert focused(page)["text"] == digit
        press(page, "Enter")
        row, col = to_row, to_col
    # The rest with the remote's digit keys; 查询 before the code is whole says what is missing.
    press(page, *digits[3:10])
    expect(page.locator("#code-box")).to_contain_text(f"{digits[:3]}-{digits[3:10]}_")
    press(page, "ArrowDown", "ArrowDown", "ArrowDown", "ArrowDown", "ArrowRight", "ArrowRight")
    assert focused(page)["text"] == "查询"
    press(page, "Enter")
    expect(page.locator("#lookup-message")).to_have_text(f"编号不完整，还差 {15 - 10} 位")
    check(tv, "lookup")
    press(page, *digits[10:])
    # The whole code typed: OK now searches (the focus is on 查询, whatever key typed the last digit).
    expect(page.locator("#lookup-message")).to_have_text("编号已输完，按确认键查询")
    assert focused(page)["text"] == "查询"
    press(page, "Enter")

    expect(page.locator("#screen-report")).to_be_visible()
    head = page.locator("#report-head")
    expect(head).to_contain_text(code)
    expect(head.locator(".report-status")).to_have_text(public["status_zh"])
    assert public["status_zh"] == "处理中"
    steps = page.locator("#report-steps .step-words")
    expect(steps).to_have_text([s["words"] for s in public["steps"]])
    assert [s["words"] for s in public["steps"]][:2] == ["已提交", "已受理"]
    assert public["steps"][2]["words"].startswith("交办至")
    assert event["description"] not in page.locator("body").inner_text()
    assert focused(page)["id"] == "report-again"
    check(tv, "report")

    # 再查一个: the lookup again with an empty code; a code that does not exist is told so.
    press(page, "Enter")
    expect(page.locator("#screen-lookup")).to_be_visible()
    expect(page.locator("#code-box .is-blank")).to_have_count(15)
    press(page, *("999" + digits[3:]))
    press(page, "Enter")
    expect(page.locator("#lookup-message")).to_have_text(
        "没有找到这个编号的上报，请核对回执上的编号"
    )
    check(tv, "lookup-unknown")
    press(page, "Backspace")
    expect(page.locator("#screen-home")).to_be_visible()
    # The unknown code's 404 is the browser's only complaint.
    assert [e for e in tv.errors if "404" not in e] == [] and len(tv.errors) == 1
    assert tv.foreign_requests == []


def test_a_long_category_turns_its_pages_with_the_arrows(
    tv: Visit, live_server: LiveServer
) -> None:
    base = live_server.base_url
    categories = httpx.get(f"{base}/api/v1/public/services/categories").json()
    counts = {
        name: httpx.get(f"{base}/api/v1/public/services", params={"category": name}).json()["total"]
        for name in categories
    }
    name = max(counts, key=lambda n: counts[n])
    assert counts[name] > 6  # more than one page of 2 × 3 tiles
    page = tv.page
    press(page, "Enter")
    expect(page.locator("#category-grid .tv-tile").first).to_be_visible()
    place = categories.index(name)
    press(page, *["ArrowDown"] * (place // 4), *["ArrowRight"] * (place % 4))
    press(page, "Enter")
    expect(page.locator("#item-grid .tv-tile")).to_have_count(6)
    pages = -(-counts[name] // 6)
    expect(page.locator("#item-pager")).to_contain_text(f"第 1 / {pages} 页")
    first = focused(page)["text"]
    press(page, "ArrowDown", "ArrowDown", "ArrowDown")  # past the last row: the next page
    expect(page.locator("#item-pager")).to_contain_text(f"第 2 / {pages} 页")
    expect(page.locator("#item-grid .tv-tile")).to_have_count(min(6, counts[name] - 6))
    assert focused(page)["text"] != first
    check(tv, "items-page-2")
    press(page, "ArrowUp")  # past the first row: back to the previous page, its last row
    expect(page.locator("#item-pager")).to_contain_text(f"第 1 / {pages} 页")
    assert focused(page)["text"] != first
    tv.assert_clean()
