"""Every page, as every role, speaks Chinese: a walk of each role's own navigation (plus the event
page, 办事指南, the admin sections, the phone app's tabs, a 403 and a 404, and the public pages
signed out) that fails on a Latin word a user can read — the page's text, titles, placeholders,
options, button and ARIA labels — outside a short allow-list of names Chinese users read as they
are (PDF, CSV, GPS …), and on half-width punctuation beside Chinese. Codes with digits (event,
unit and grid codes, phone numbers, dates) and the users' own usernames are data, not words.

One browser context per role, no screenshots unless a page fails (test-artifacts/walk-*.png);
every finding of every role is listed at the end, so one run names all of them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from fengqiao.auth.models import User
from fengqiao.db import Database
from scripts.screenshot import DESKTOP
from tests.e2e.conftest import (
    ARTIFACTS,
    Api,
    LiveServer,
    World,
    open_visit,
    serve_demo,
    sign_in,
    world_of,
)

pytestmark = pytest.mark.e2e

ROLES = (
    "demo_operator",
    "demo_leader",
    "demo_district_leader",
    "demo_handler",
    "demo_grid_worker",
    "demo_resident",
    "admin",
)
# Names a Chinese user reads as they are: formats, standards, key caps (Open311 has digits, so it
# is a code anyway).
ALLOWED = frozenset({
    "API", "PDF", "CSV", "PNG", "Excel", "GPS", "GeoJSON", "ID", "km", "GB", "pH",
    "XYZ",  # the tile scheme, named so in map tools (系统管理 · 底图: 自定义 XYZ)
    "Enter", "Esc",  # key caps, named as printed on the keyboard
})  # fmt: skip
# A run of letters, digits and the joiners of codes; one holding a digit is a code or a number.
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/:@+]*")
WORD = re.compile(r"[A-Za-z]{2,}")
HALF_BY_ZH = re.compile(
    "[\u4e00-\u9fff\u3000-\u303f\uff01-\uff5e][,:;!?()]|[,:;!?()][\u4e00-\u9fff\u3000-\u303f]"
)
# What a user reads on a page besides its text.
READ = """() => {
  const texts = [["text", document.body.innerText], ["title", document.title]];
  const add = (kind, selector, read) => document.querySelectorAll(selector)
    .forEach((el) => texts.push([kind, read(el) || ""]));
  add("title attribute", "[title]", (el) => el.getAttribute("title"));
  add("placeholder", "[placeholder]", (el) => el.getAttribute("placeholder"));
  add("option", "option, optgroup", (el) => el.label || el.textContent);
  add("aria-label", "[aria-label]", (el) => el.getAttribute("aria-label"));
  add("button", "input[type=submit], input[type=button], input[type=reset]", (el) => el.value);
  return texts;
}"""


@dataclass
class Walk:
    """What the walk found: one line per distinct (page, kind, word)."""

    usernames: frozenset[str]
    findings: dict[str, set[str]] = field(default_factory=dict)

    def latin(self, text: str) -> list[str]:
        words = []
        for token in TOKEN.findall(text):
            if any(c.isdigit() for c in token) or token in self.usernames:
                continue
            words += [w for w in WORD.findall(token) if w not in ALLOWED]
        return words

    def read(self, page: Page, who: str) -> None:
        """Record what the page shows `who` that is not Chinese; a screenshot when anything is."""
        where = f"{who} {urlsplit(page.url).path}"
        found = self.findings.setdefault(where, set())
        for kind, text in page.evaluate(READ):
            for line in text.splitlines():
                for word in self.latin(line):
                    found.add(f"{kind}: {word!r} in {line.strip()[:100]!r}")
                if HALF_BY_ZH.search(line):
                    found.add(f"{kind}: half-width punctuation in {line.strip()[:100]!r}")
        if found:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^\w]+", "-", where).strip("-")
            page.screenshot(path=str(ARTIFACTS / f"walk-{name}.png"))

    def report(self) -> str:
        return "\n".join(
            f"{where}\n" + "\n".join(f"    {line}" for line in sorted(lines))
            for where, lines in sorted(self.findings.items())
            if lines
        )


def settle(page: Page, ready: str | None = None) -> bool:
    """Wait for the page's script to draw what it loads; False when it never said it was ready."""
    page.wait_for_load_state("load")
    if ready:
        try:
            page.locator(ready).first.wait_for(timeout=15_000)
        except PlaywrightTimeout:
            return False
    page.wait_for_timeout(300)
    return True


def usernames(live_server: LiveServer) -> frozenset[str]:
    database = Database(live_server.settings.database_url)
    try:
        with database.session() as db:
            return frozenset(db.scalars(select(User.username)))
    finally:
        database.dispose()


def one_event_path(api: Api, user: str) -> str | None:
    events = httpx.get(f"{api.base}/events", params={"size": 1}, headers=api.headers(user))
    items = events.json().get("items", []) if events.status_code == 200 else []
    return f"/events/{items[0]['id']}" if items else None


def walk_role(
    browser: Browser, live_server: LiveServer, api: Api, world: World, walk: Walk, user: str
) -> None:
    lat, lng = world.grid_point  # where the phone app finds itself
    visit = open_visit(
        browser, live_server, DESKTOP, locale="zh-CN", permissions=["geolocation"],
        geolocation={"latitude": lat, "longitude": lng, "accuracy": 12},
    )  # fmt: skip
    page = visit.page
    try:
        # The navigation as the desk pages show it (the phone app /m/ has a tab bar instead).
        sign_in(visit, user, live_server.settings.demo_password, landing="/services")
        settle(page)
        base = live_server.base_url
        pages = page.eval_on_selector_all(".main-nav a", "(links) => links.map((a) => a.pathname)")
        assert pages, f"{user} has no navigation"
        # A 403 for each role (it names the roles a page needs); 办事指南 and the 404 page say the
        # same to everyone but the navigation, so one role reads them signed in.
        extra = ["/admin/grids" if "/admin" not in pages else "/m/"]
        if user == "admin":
            extra += ["/services", "/evnets"]
        if user == "demo_resident":  # the residents' app: its four tabs and a report
            extra += ["/r/", "/r/reports", "/r/map", "/r/notices"]
            mine = api.get(user, "/resident/reports")["items"]
            extra += [f"/r/reports/{mine[0]['code']}"] if mine else []
        event = one_event_path(api, user)
        for path in [*pages, *([event] if event else []), *extra]:
            page.goto(base + path)
            if path == "/admin":
                settle(page, "#admin-page[data-ready=true]")
                sections = page.eval_on_selector_all(
                    "#admin-nav a", "(links) => links.map((a) => a.pathname)"
                )
                for section in sections:
                    page.goto(base + section)
                    settle(page, "#admin-page[data-ready=true]")
                    walk.read(page, user)
            elif path == "/mechanisms":  # 工作机制: each mechanism's page from its card
                settle(page)
                walk.read(page, user)
                cards = page.eval_on_selector_all(
                    ".mechanism-grid a", "(links) => links.map((a) => a.pathname)"
                )
                for card in cards:
                    page.goto(base + card)
                    settle(page)
                    walk.read(page, user)
            elif path == "/m/" and path in pages:
                if not settle(page, "#app[data-state=ready]"):
                    walk.findings[f"{user} /m/"] = {
                        "the app did not start (#app[data-state=ready])"
                    }
                    continue
                for tab in page.locator(".tab-bar button[data-tab]").all():
                    tab.click()
                    page.wait_for_timeout(500)
                    walk.read(page, f"{user} {tab.get_attribute('data-tab')}")
            else:
                settle(page)
                walk.read(page, user)
    finally:
        page.context.close()


@dataclass
class Served:
    live_server: LiveServer
    api: Api
    world: World


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A demo district of the walk's own: what it reads are the product's words, not what other
    tests typed into the shared server (their descriptions are data). A smoke detector's alarm
    is its newest event, so the event page the walk reads is one the product wrote."""
    with serve_demo(tmp_path_factory.mktemp("walk"), events=300) as server:
        world = world_of(server)
        api = Api(server)
        device = api.get("demo_operator", "/iot/devices", device_type="smoke_detector")["items"][0]
        key = api.post("demo_operator", f"/iot/devices/{device['id']}/rotate-key")["key"]
        answer = httpx.post(
            f"{api.base}/iot/alarms", json={"readings": {"smoke": True, "temperature": 31}},
            headers={"X-Device-Key": key}, timeout=30,
        ).json()  # fmt: skip
        assert answer["result"] == "filed", answer
        api.post("demo_district_operator", f"/command/alarms/{answer['event_id']}/ack")
        yield Served(server, api, world)


def test_every_page_as_every_role_speaks_chinese(browser: Browser, own_server: Served) -> None:
    live_server, api, world = own_server.live_server, own_server.api, own_server.world
    walk = Walk(usernames(live_server))

    # Signed out: the login page (no demo hint on a district's own server), 办事指南, a 404.
    visit = open_visit(browser, live_server, DESKTOP, locale="zh-CN")
    page = visit.page
    settle(page)
    assert page.locator("#demo-hint").count() == 0
    walk.read(page, "signed out")
    for path in ("/services", "/evnets", "/m/xyz", "/r/login", "/r/map", "/r/notices", "/tv"):
        page.goto(live_server.base_url + path)
        settle(page)
        walk.read(page, "signed out")
    page.context.close()

    for user in ROLES:
        walk_role(browser, live_server, api, world, walk, user)

    report = walk.report()
    assert not report, "Latin words or half-width punctuation a user reads:\n" + report
