"""No stored script runs: every text field an operator, leader, handler, grid worker or
administrator can edit is set to a script payload through the API, then every page is opened
as every role in Chromium, map markers, grid polygons and camera markers are hovered and
clicked, chart tooltips shown point by point. No payload may run (window.__xss stays unset, no
dialog) and the pages must work under the Content-Security-Policy: no violation is reported, no
script error. Its own server, so the payloads never reach the other browser tests' pages."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page
from playwright.sync_api import Error as PlaywrightError

from fengqiao.web.views import ADMIN_SECTIONS
from scripts.screenshot import DESKTOP
from tests.e2e.conftest import (
    ARTIFACTS,
    PHONE,
    Api,
    LiveServer,
    open_visit,
    phone_context_options,
    serve_demo,
    settle,
    sign_in,
    world_of,
)
from tests.events.conftest import World

# Each sets window.__xss if it ever runs; short enough for a 50-character name.
PAYLOADS = (
    "<img src=x onerror=window.__xss=1>",
    '"><svg onload=window.__xss=2>',
    "</script><script>window.__xss=3</script>",
    "'><img src=y onerror=window.__xss=4>",
)
LINK_PAYLOAD = "javascript:window.__xss=5"

# Every page of the site, each opened by every role (a refused one still renders the shell).
PAGES = (
    "/wall", "/map", "/events", "/events/{event}", "/supervision", "/analytics", "/assessment",
    "/bulletins", "/warnings", "/messages", "/outbox", "/services", "/proxy", "/rooms",
    *(f"/admin/{section}" for section in ADMIN_SECTIONS), "/docs",
    "/r/",  # the residents' app (issue 19): its class chips are names staff edit
    "/r/reports", "/r/map", "/r/notices", "/notices/manage", "/tv",
    "/joint-operations",  # 联合行动 (issue 20): names and places staff type
    "/mechanisms",  # 工作机制 (issue 20): the standard's title staff type
    "/assessment/annual", "/assessment/benchmarks",  # issue 20: 年度考核, 标杆镇街
    "/campaigns", "/campaigns/{campaign}",  # issue 20: campaigns and a campaign's dashboard
    "/tasks", "/meetings",  # issue 20: tracked tasks and analysis meetings
    "/standards", "/inspections", "/inspections/new", "/inspections/self-assessment",
)  # fmt: skip
ROLES = {
    "admin": "admin",
    "district_operator": "demo_district_operator",
    "town_operator": "demo_operator",
    "handler": "demo_handler",
    "town_leader": "demo_leader",
    "district_leader": "demo_district_leader",
    "grid_leader": "demo_grid_leader",
    "resident": "demo_resident",
}

WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber + ":" + e.columnNumber + " " + e.sample);
});
"""


def payload(n: int) -> str:
    return PAYLOADS[n % len(PAYLOADS)]


@dataclass
class Stored:
    """What the payloads went into: fields stored, fields refused (with the API's answer)."""

    event_id: int = 0
    campaign_id: int = 0
    stored: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    def attempt(self, name: str, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            result = action(*args, **kwargs)
        except (AssertionError, KeyError, IndexError, StopIteration, httpx.HTTPError) as error:
            self.refused[name] = str(error)[:300]
            return None
        self.stored.append(name)
        return result


def send(api: Api, user: str, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(
        method, api.base + path, json=body, headers=api.headers(user), timeout=30
    )
    assert response.status_code in (200, 201, 204), f"{response.status_code} {response.text}"
    return response.json() if response.content else None


def items(answer: Any) -> list[dict[str, Any]]:
    return answer["items"] if isinstance(answer, dict) and "items" in answer else answer


def plant(api: Api, world: World) -> Stored:
    """Every editable text field we can reach, set to a payload by the role that may edit it."""
    s = Stored()
    op, admin, leader, handler = "demo_operator", "admin", "demo_leader", "demo_handler"
    lat, lng = world.grid_point

    # Cameras near the event (the event page's 附近视频 and the map's camera layer).
    near = api.get(op, "/layers/cameras/nearest", lat=lat, lng=lng, limit=5, radius_m=5000)
    for n, camera in enumerate(near):
        path = f"/cameras/{camera['code']}"
        edit: dict[str, Any] = {"name": payload(n), "install_place": payload(n + 1)}
        s.attempt(f"camera {n}", send, api, op, "PATCH", path, edit)
        s.attempt(f"camera link {n}", send, api, op, "PATCH", path, {"stream_url": LINK_PAYLOAD})
    # The event: filed by the grid worker, accepted, dispatched and signed with notes.
    event = api.file(
        world, title=payload(0), description=payload(1) + "\n" + payload(2), address=payload(3)
    )
    s.event_id = event["id"]
    s.stored.append("event title, description, address")
    s.attempt("accept note", api.act, event, op, "accept", note=payload(1))
    s.attempt("dispatch note", api.act, event, op, "dispatch", note=payload(2))
    s.attempt("sign note", api.act, event, handler, "sign", note=payload(3))
    orders = f"/events/{event['id']}/supervision-orders"
    order = s.attempt("supervision requirement", send, api, leader, "POST", orders,
                      {"kind": "leader", "requirement": payload(0)})  # fmt: skip
    if order:
        reply = f"/supervision-orders/{order['id']}/reply"
        s.attempt("supervision reply", send, api, handler, "POST", reply, {"reply": payload(1)})
    # Warnings acknowledged with a note.
    warnings = s.attempt("warnings listed", api.get, op, "/warnings", size=5)
    for n, warning in enumerate(items(warnings or [])[:2]):
        path = f"/warnings/{warning['id']}/ack"
        s.attempt(f"warning note {n}", send, api, op, "POST", path, {"note": payload(n)})

    # The administrator's tables: units, people, places, classes, rules, catalogue, devices.
    for n, unit in enumerate(items(api.get(admin, "/units", size=500))[:40]):
        edit = {"name": payload(n) + str(n)}
        s.attempt(f"unit {n}", send, api, admin, "PATCH", f"/units/{unit['id']}", edit)
    users = {u["username"]: u for u in items(api.get(admin, "/users", size=500))}
    for n, name in enumerate(
        ("demo_handler", "demo_grid_worker", "demo_operator", "demo_resident")
    ):
        path = f"/users/{users[name]['id']}"
        s.attempt(f"user name {name}", send, api, admin, "PATCH", path, {"name": payload(n)})
    places = []
    for kind in ("grid", "village", "town"):
        found = items(api.get(admin, "/org/units", kind=kind, size=3))
        places += [(kind, u["code"]) for u in found[:2]]
    for n, (kind, code) in enumerate(places):
        edit = {"name": payload(n) + kind}
        s.attempt(f"{kind} name {code}", send, api, admin, "PATCH", f"/org/units/{code}", edit)
    edit = {"name_zh": payload(2), "filing_condition": payload(3), "closing_condition": payload(0)}
    s.attempt(
        "class name", send, api, admin, "PATCH", f"/categories/{world.handler_category}", edit
    )
    rules = s.attempt("rules listed", api.get, admin, "/routing-rules")
    if rules:
        rule = items(rules)[0]
        keys = ("category_code", "major_code", "unit_type", "org_code", "unit_id", "priority",
                "active")  # fmt: skip
        body = {k: rule[k] for k in keys if k in rule} | {"note": payload(1)}
        s.attempt(
            "routing rule note", send, api, admin, "PATCH", f"/routing-rules/{rule['id']}", body
        )
    found = s.attempt("catalogue listed", api.get, admin, "/services/search", size=3)
    for n, item in enumerate(items(found or [])[:2]):
        edit = {"name": payload(n), "materials": [payload(n + 1)], "fee": payload(n + 2),
                "unit_name": payload(n + 3), "description": payload(n), "tags": [payload(n + 1)],
                "version": item.get("version")}  # fmt: skip
        s.attempt(
            f"catalogue item {n}", send, api, admin, "PATCH", f"/services/items/{item['id']}", edit
        )
    devices = s.attempt("devices listed", api.get, op, "/iot/devices", size=3)
    for n, device in enumerate(items(devices or [])[:2]):
        edit = {"name": payload(n), "address": payload(n + 1)}
        s.attempt(f"iot device {n}", send, api, op, "PATCH", f"/iot/devices/{device['id']}", edit)
    rules = s.attempt("iot rules listed", api.get, admin, "/iot/rules")
    if rules:
        path = f"/iot/rules/{rules[0]['id']}"
        s.attempt("iot rule name", send, api, admin, "PATCH", path, {"name_zh": payload(2)})
    # A notice to the operator's town, published: the residents' 通知 and the staff's 宣传.
    towns = s.attempt("towns listed", api.get, op, "/org/units", kind="town", size=1)
    if towns:
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
        body = {"org_id": items(towns)[0]["id"], "title": payload(0), "text": payload(1),
                "valid_from": str(today), "valid_to": str(today + timedelta(days=7)),
                "publish": True}  # fmt: skip
        s.attempt("notice", send, api, op, "POST", "/notices", body)
        # A campaign of that town (专项整治) with payloads in its name and its measures' names.
        body = {"name": payload(2), "description": payload(3), "org_id": items(towns)[0]["id"],
                "classes": [world.handler_category], "start_date": str(today - timedelta(days=7)),
                "end_date": str(today + timedelta(days=30)),
                "measures": [{"name": payload(n)[:40], "unit": "处", "target": 10,
                              "classes": [world.handler_category]} if n == 0 else
                             {"name": payload(n)[:40], "unit": "m²", "target": 100,
                              "classes": [world.handler_category]} for n in range(2)]}  # fmt: skip
        campaign = s.attempt("campaign", send, api, op, "POST", "/campaigns", body)
        s.campaign_id = campaign["id"] if campaign else 0
        # A meeting held now with a decision (研判会商 and 督办事项 show their words).
        when = datetime.now(ZoneInfo("Asia/Shanghai")).isoformat(timespec="minutes")
        body = {"org_id": items(towns)[0]["id"], "title": payload(2), "place": payload(3),
                "scheduled_at": when}  # fmt: skip
        meeting = s.attempt("meeting", send, api, op, "POST", "/meetings", body)
        if meeting:
            held = {"minutes_text": payload(0), "version": meeting["version"],
                    "decisions": [{"title": payload(1), "detail": payload(2),
                                   "owner_unit_id": world.handler_unit}]}  # fmt: skip
            s.attempt("meeting decision", send, api, op, "POST",
                      f"/meetings/{meeting['id']}/hold", held)  # fmt: skip
    # A town leader's evaluation of an agency of the town (年度考核), its note shown as text.
    annual = s.attempt("annual listed", api.get, leader, "/assessment/annual")
    judged = [d for d in (annual or {}).get("departments", []) if d["can_evaluate"]]
    if judged:
        year = annual["year"]
        for n, unit in enumerate(judged[:2]):
            body = {"year": year, "score": 80, "note": payload(n)}
            path = f"/assessment/annual/evaluations/{unit['id']}"
            s.attempt(f"evaluation note {n}", send, api, leader, "PUT", path, body)
    plant_inspections(api, s)
    return s


def plant_inspections(api: Api, s: Stored) -> None:
    """A published standard with a payload item, a group named by a payload, and a round with
    payload notes whose failed item becomes a rectification (督查整改, 标准化)."""
    boss = "demo_district_leader"
    body = {"title": payload(0), "note": payload(1),
            "items": [{"aspect": "system", "text": payload(2), "weight": 100, "evidence": "photo"}]}  # fmt: skip
    draft = s.attempt("standard draft", send, api, boss, "POST", "/standards", body)
    if draft:
        s.attempt("standard published", send, api, boss, "POST",
                  f"/standards/{draft['id']}/publish", {"version": draft["version"]})  # fmt: skip
    groups = s.attempt("groups listed", api.get, boss, "/inspections/groups") or []
    mine = next((g for g in groups if g["towns"]), None)
    if mine is None or not draft:
        return
    s.attempt("group name", send, api, "admin", "PATCH", f"/inspections/groups/{mine['id']}",
              {"name": payload(3)[:50], "version": mine["version"]})  # fmt: skip
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    item = draft["aspects"][0]["items"][0]["id"]
    s.attempt("round", send, api, boss, "POST", "/inspections", {
        "group_id": mine["id"], "town_id": mine["towns"][0]["id"], "month": month,
        "note": payload(0), "scores": [{"item_id": item, "result": "not_met", "note": payload(1)}],
    })  # fmt: skip


@pytest.fixture(scope="module")
def xss_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_demo(tmp_path_factory.mktemp("xss"), events=600) as server:
        yield server


@pytest.fixture(scope="module")
def planted(xss_server: LiveServer) -> tuple[Stored, World]:
    world = world_of(xss_server)
    stored = plant(Api(xss_server), world)
    return stored, world


def test_the_payloads_were_stored(planted: tuple[Stored, World]) -> None:
    """What the browser tests below rest on: the fields that bit before were really set."""
    stored, _ = planted
    print("stored:", stored.stored)
    print("refused:", stored.refused)
    names = " ".join(stored.stored)
    for needed in ("camera", "event title", "unit 0", "user name demo_handler", "grid name",
                   "class name", "supervision requirement", "notice", "meeting decision",
                   "standard published", "group name", "round", "evaluation note 0"):  # fmt: skip
        assert needed in names, (needed, stored.refused)


def exercise(page: Page) -> None:
    """Hover and click what a person would: markers, polygons, camera dots, chart points."""
    switched = page.evaluate(
        """() => {
          const boxes = document.querySelectorAll(
            '.leaflet-control-layers-overlays input:not(:checked)');
          boxes.forEach((box) => box.click());
          return boxes.length;
        }"""
    )
    if switched:
        page.wait_for_timeout(600)  # the layers just switched on load their features
    for selector in (".leaflet-marker-icon", "path.leaflet-interactive"):
        for target in page.locator(selector).all()[:12]:
            try:
                target.hover(timeout=1500, force=True)
                page.wait_for_timeout(60)
                # On the element itself: a forced click at its place would land on whatever
                # covers it (a marker under the header clicked 退出 and signed the walk out).
                target.dispatch_event("click")
                page.wait_for_timeout(60)
                page.keyboard.press("Escape")
            except PlaywrightError:  # a marker that moved (a cluster opened) is fine
                continue
    for canvas in page.locator(".leaflet-container canvas").all()[:3]:
        box = canvas.bounding_box()
        if box:
            for fx, fy in ((0.3, 0.3), (0.5, 0.5), (0.7, 0.6), (0.4, 0.7)):
                page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
                page.wait_for_timeout(50)
                page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    # Every chart's tooltip for its points, as a hover would show it.
    charts = page.evaluate(
        """() => {
          if (!window.echarts) return 0;
          document.querySelectorAll('[_echarts_instance_]').forEach((el) => {
            const chart = echarts.getInstanceByDom(el);
            if (!chart) return;
            const series = chart.getOption().series || [];
            series.forEach((s, seriesIndex) => {
              const n = Math.min((s.data || []).length, 12);
              for (let dataIndex = 0; dataIndex < n; dataIndex++) {
                chart.dispatchAction({ type: 'showTip', seriesIndex, dataIndex });
              }
            });
          });
          return document.querySelectorAll('[_echarts_instance_]').length;
        }"""
    )
    if charts:
        page.wait_for_timeout(200)  # the last tooltip drawn


def ready(page: Page) -> None:
    """Wait for the page's scripts to have drawn their data (their ready markers)."""
    for selector in ("#event-page[data-state=ready]", "#analytics[data-ready=true]",
                     "#onemap[data-events]", "#app[data-state=ready]",
                     "#wall[data-state=ready]"):  # fmt: skip
        if page.locator(selector.split("[")[0]).count():
            # A refused role's page never gets ready.
            with contextlib.suppress(PlaywrightError):
                page.locator(selector).wait_for(timeout=15000)
    # Settled: no request in flight, the browser's live connection aside.
    with contextlib.suppress(PlaywrightError, AssertionError):
        settle(page, timeout=4)


def check_pages(page: Page, base: str, paths: list[str], shots: str) -> list[str]:
    """Open each page, exercise it, and list every sign of a script that ran or was blocked."""
    problems: list[str] = []
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and (
        "Content Security Policy" in m.text or "Refused" in m.text) else None)  # fmt: skip
    page.add_init_script(WATCH)
    refused = False
    for path in paths:
        errors.clear()
        response = page.goto(base + path)
        if response is not None and response.status == 403:
            # Every page a role may not open is the same refusal in the same shell: the first is
            # checked, the others add nothing but minutes.
            if refused:
                continue
            refused = True
        if "/login" in page.url:  # signed out: the rest of the walk would check nothing
            problems.append(f"{path}: signed out (the login page instead)")
            break
        ready(page)
        exercise(page)
        ran = page.evaluate("() => window.__xss")
        violations = page.evaluate("() => window.__violations || []")
        if ran is not None:
            problems.append(f"{path}: payload {ran} ran")
        problems += [f"{path}: CSP {v}" for v in violations]
        problems += [f"{path}: {e}" for e in errors]
        problems += [f"{path}: dialog {d}" for d in dialogs]
        dialogs.clear()
        name = path.strip("/").replace("/", "-") or "home"
        page.screenshot(path=str(ARTIFACTS / f"xss-{shots}-{name}.png"))
    return problems


@pytest.mark.parametrize("role", list(ROLES))
def test_no_stored_script_runs_on_any_page(
    role: str, planted: tuple[Stored, World], xss_server: LiveServer, browser: Browser
) -> None:
    stored, _ = planted
    ARTIFACTS.mkdir(exist_ok=True)
    visit = open_visit(browser, xss_server, DESKTOP, locale="zh-CN")
    try:
        sign_in(visit, ROLES[role], xss_server.settings.demo_password)
        paths = [p.format(event=stored.event_id, campaign=stored.campaign_id) for p in PAGES]
        problems = check_pages(visit.page, xss_server.base_url, paths, role)
    finally:
        visit.page.context.close()
    print("\n".join(problems))  # the whole list: pytest would cut it
    assert problems == []


def test_no_stored_script_runs_in_the_worker_app(
    planted: tuple[Stored, World], xss_server: LiveServer, browser: Browser
) -> None:
    """The grid worker's phone app: its tabs, the task list, an event, the map."""
    _, world = planted
    ARTIFACTS.mkdir(exist_ok=True)
    visit = open_visit(browser, xss_server, PHONE, **phone_context_options(world))
    try:
        sign_in(visit, "demo_grid_worker", xss_server.settings.demo_password)
        page = visit.page
        problems = check_pages(page, xss_server.base_url, ["/m/"], "grid_worker")
        for tab in page.locator("[data-tab]").all():
            try:
                tab.click(timeout=2000)
            except PlaywrightError:  # a hidden tab
                continue
            page.wait_for_timeout(400)
            exercise(page)
            for item in page.locator("#app li, #app .card").all()[:5]:
                try:
                    item.click(timeout=1000)
                    page.wait_for_timeout(200)
                except PlaywrightError:
                    continue
        if page.evaluate("() => window.__xss") is not None:
            problems.append("/m/: a payload ran")
        problems += [f"/m/: CSP {v}" for v in page.evaluate("() => window.__violations || []")]
        page.screenshot(path=str(ARTIFACTS / "xss-grid_worker-tabs.png"))
    finally:
        visit.page.context.close()
    assert problems == []


def test_payloads_show_as_text(planted: tuple[Stored, World], xss_server: LiveServer,
                               browser: Browser) -> None:  # fmt: skip
    """The payloads are there, as the words someone typed: on the event page as the operator."""
    stored, _ = planted
    visit = open_visit(browser, xss_server, DESKTOP, locale="zh-CN")
    try:
        sign_in(visit, "demo_operator", xss_server.settings.demo_password,
                landing=f"/events/{stored.event_id}")  # fmt: skip
        page = visit.page
        page.locator("#event-page[data-state=ready]").wait_for()
        assert page.locator("#event-title").text_content() == PAYLOADS[0]
        assert PAYLOADS[1] in (page.locator("#event-description").text_content() or "")
        cameras = page.locator("#nearest-cameras li strong")
        assert cameras.count() >= 1 and cameras.first.text_content() in PAYLOADS
        # A typed javascript: link is no link.
        assert page.locator("#nearest-cameras a[href^='javascript']").count() == 0
        page.screenshot(path=str(ARTIFACTS / "xss-event-as-text.png"))
    finally:
        visit.page.context.close()
