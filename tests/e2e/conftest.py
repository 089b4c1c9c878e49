"""The app served by uvicorn on a local port over a seeded SQLite file, and Debian's Chromium.

E2E runs on SQLite only: the pages see the database only through the API, which the storage
tests already cover on PostgreSQL.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    Page,
    Playwright,
    Request,
    Route,
    ViewportSize,
    sync_playwright,
)

from fengqiao.app import create_app
from fengqiao.clock import Clock
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.demo.events import default_until, seed_events
from fengqiao.demo.seed import seed
from fengqiao.migrate import upgrade
from scripts.hls_stream import HlsStream
from scripts.screenshot import DESKTOP, launch_chromium, log_in
from tests.conftest import make_settings
from tests.events.conftest import World, jpeg, make_world

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LOCAL_HOST = "127.0.0.1"
PHONE: ViewportSize = {"width": 375, "height": 812}


@dataclass
class LiveServer:
    base_url: str
    settings: Settings
    # The loopback HLS "gateway" every camera plays from (segments rendered on first use).
    stream: HlsStream | None = None


@contextmanager
def serve_demo(
    tmp: Path,
    events: int = 3000,
    clock: Clock | None = None,
    prepare: Callable[[Database, Settings], None] | None = None,
) -> Iterator[LiveServer]:
    """The small demo district with `events` events of history, served over HTTP in a
    background thread until the block ends (on `clock` when given, for tests that move time;
    `prepare` changes the seeded database before the app starts, e.g. a tree above it)."""
    url = f"sqlite:///{tmp / 'e2e.db'}"
    upgrade(url)
    # Every browser test signs in from 127.0.0.1: the login limit is tests/test_ratelimit.py's.
    stream = HlsStream(tmp / "hls")
    settings = make_settings(
        url, tmp, rate_limit_login="10000/minute", video_playback_template=stream.template
    )
    database = Database(url)
    seed(db=database, scale="small", password=settings.demo_password)
    # A year of history, so the map has open, late and closed events to show.
    seed_events(db=database, count=events, until=default_until())
    if prepare is not None:
        prepare(database, settings)
    database.dispose()

    # Bind first and hand the socket to uvicorn: no race for the free port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOCAL_HOST, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, clock=clock), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base_url = f"http://{LOCAL_HOST}:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the app did not come up on {base_url}")
        time.sleep(0.05)
    try:
        yield LiveServer(base_url, settings, stream)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        stream.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The small demo district served over HTTP in a background thread for the whole session."""
    with serve_demo(tmp_path_factory.mktemp("e2e")) as server:
        yield server


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    try:
        chromium = launch_chromium(playwright)
    except FileNotFoundError as error:
        # A missing browser is a broken setup, not a reason to skip the page tests.
        pytest.fail(str(error), pytrace=False)
    yield chromium
    chromium.close()


@dataclass
class Visit:
    """One browser tab with what it logged: console errors and requests to other hosts."""

    page: Page
    base_url: str
    errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.errors == [], "console errors on the page"
        assert self.foreign_requests == [], "requests to hosts other than 127.0.0.1"

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def open_visit(
    browser: Browser, live_server: LiveServer, viewport: ViewportSize, **context_options: Any
) -> Visit:
    """A fresh context (its own cookies) at the login page, recording what goes wrong."""
    context = browser.new_context(viewport=viewport, **context_options)
    page = context.new_page()
    visit = Visit(page=page, base_url=live_server.base_url)
    page.on(
        "console",
        lambda message: visit.errors.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: visit.errors.append(str(error)))

    def record(request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != LOCAL_HOST:
            visit.foreign_requests.append(request.url)

    page.on("request", record)
    page.goto(f"{live_server.base_url}/login")
    return visit


def sign_in(visit: Visit, username: str, password: str, landing: str | None = None) -> None:
    """Log in through the form; `landing` is the page to go to afterwards (else the role's)."""
    page = visit.page
    if landing is not None:
        # Encoded whole: a landing with its own query (?from=..&to=..) must reach the page intact.
        page.goto(f"{visit.base_url}/login?next={quote(landing, safe='')}")
    log_in(page, username, password)


@pytest.fixture
def visit(browser: Browser, live_server: LiveServer) -> Iterator[Visit]:
    """The login page in a 1280×800 tab."""
    opened = open_visit(browser, live_server, DESKTOP)
    yield opened
    opened.page.context.close()


@pytest.fixture
def phone_visit(browser: Browser, live_server: LiveServer) -> Iterator[Visit]:
    """The login page in a 375 px wide tab."""
    opened = open_visit(browser, live_server, PHONE)
    yield opened
    opened.page.context.close()


def world_of(server: LiveServer) -> World:
    """The demo people and places of a served database (see tests/events/conftest.py)."""
    database = Database(server.settings.database_url)
    try:
        with database.session() as db:
            return make_world(db)
    finally:
        database.dispose()


@pytest.fixture(scope="session")
def world(live_server: LiveServer) -> World:
    """The demo people and places of the shared server's database."""
    return world_of(live_server)


class Api:
    """The served API as the demo users, for arranging what a test then does in the browser.
    Every call waits up to TIMEOUT_S: the server shares two cores with the browsers and the other
    pytest process, and httpx's own 5 s was seen to run out under that load."""

    TIMEOUT_S = 30

    def __init__(self, live_server: LiveServer) -> None:
        self.base = live_server.base_url + "/api/v1"
        self.password = live_server.settings.demo_password
        self.tokens: dict[str, str] = {}

    def headers(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            form = {"username": user, "password": self.password}
            response = httpx.post(f"{self.base}/auth/token", data=form, timeout=self.TIMEOUT_S)
            assert response.status_code == 200, response.text
            self.tokens[user] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, user: str, path: str, **params: Any) -> Any:
        response = httpx.get(
            self.base + path, params=params, headers=self.headers(user), timeout=self.TIMEOUT_S
        )
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, user: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        headers = self.headers(user) | kwargs.pop("headers", {})
        response = httpx.post(self.base + path, headers=headers, timeout=self.TIMEOUT_S, **kwargs)
        assert response.status_code == expect, response.text
        return response.json() if response.content else None

    def file(self, world: World, user: str = "demo_grid_worker", **fields: Any) -> dict[str, Any]:
        lat, lng = world.grid_point
        body = {
            "source": "grid_worker", "category": world.handler_category, "lat": lat, "lng": lng,
            "description": "人行道上有人占道经营", "address": "柯桥街道某路",
        } | fields  # fmt: skip
        created: dict[str, Any] = self.post(user, "/events", expect=201, json=body)
        return created

    def act(self, event: dict[str, Any], user: str, action: str, **fields: Any) -> dict[str, Any]:
        fresh = self.get(user, f"/events/{event['id']}")
        body = {"action": action, "version": fresh["version"]} | fields
        moved: dict[str, Any] = self.post(user, f"/events/{event['id']}/transitions", json=body)
        return moved


@pytest.fixture(scope="session")
def api(live_server: LiveServer) -> Api:
    return Api(live_server)


@pytest.fixture(autouse=True)
def no_alarm_waiting(request: pytest.FixtureRequest) -> None:
    """An alarm a test leaves waiting for 接警 holds a modal dialog over every command-room page
    (tests/e2e/test_alarms.py): before each test the district's operator takes any left over."""
    if "live_server" not in request.fixturenames:
        return
    api: Api = request.getfixturevalue("api")
    for alarm in api.get("demo_district_operator", "/command/alarms")["items"]:
        api.post("demo_district_operator", f"/command/alarms/{alarm['id']}/ack")


def phone_context_options(world: World) -> dict[str, Any]:
    """A phone held in demo_grid_worker's grid: touch, Chinese locale, GPS allowed there."""
    lat, lng = world.grid_point
    return {
        "geolocation": {"latitude": lat, "longitude": lng, "accuracy": 12},
        "permissions": ["geolocation"],
        "locale": "zh-CN",
        "has_touch": True,
        "is_mobile": True,
    }


@pytest.fixture
def worker_phone(browser: Browser, live_server: LiveServer, world: World) -> Iterator[Visit]:
    """demo_grid_worker's app on a 375 px phone standing in their grid."""
    opened = open_visit(browser, live_server, PHONE, **phone_context_options(world))
    sign_in(opened, "demo_grid_worker", live_server.settings.demo_password)
    opened.page.locator("#app[data-state=ready]").wait_for()
    yield opened
    opened.page.context.close()


def settle(page: Page, *, quiet: float = 0.5, timeout: float = 15.0) -> None:
    """Wait until the page has loaded and no request it starts stays in flight for `quiet`
    seconds (Playwright's "networkidle", but usable on a signed-in page: the page that starts the
    browser's shared live connection (static/live.js, a SharedWorker) never reaches it, as
    Playwright sees the worker's script request start in the page and finish in the worker)."""
    page.wait_for_load_state("load")
    pending: set[Request] = set()

    def started(request: Request) -> None:
        if request.resource_type != "eventsource" and "/static/live.js" not in request.url:
            pending.add(request)

    def ended(request: Request) -> None:
        pending.discard(request)

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    try:
        deadline = time.monotonic() + timeout
        idle_since: float | None = None
        while time.monotonic() < deadline:
            page.wait_for_timeout(100)  # lets the request events arrive
            if pending:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= quiet:
                return
        raise AssertionError(f"requests still in flight: {sorted(r.url for r in pending)}")
    finally:
        page.remove_listener("request", started)
        page.remove_listener("requestfinished", ended)
        page.remove_listener("requestfailed", ended)


def desk_visit(browser: Browser, live_server: LiveServer, user: str, landing: str) -> Visit:
    opened = open_visit(browser, live_server, DESKTOP, locale="zh-CN")
    sign_in(opened, user, live_server.settings.demo_password, landing=landing)
    return opened


JPEG_PHOTO = jpeg("green", (320, 240))


class Held:
    """Holds back the first request to `pattern` whose URL contains `marker` (the older of two
    requests), lets every other through; `release()` sends it late and waits for its answer,
    so a test can check that a slower answer to an older request changes nothing on screen."""

    def __init__(self, page: Page, pattern: re.Pattern[str], marker: str) -> None:
        self.page, self.pattern, self.marker = page, pattern, marker
        self.routes: list[tuple[Route, str]] = []
        page.route(pattern, self._route)

    def _route(self, route: Route, request: Request) -> None:
        if self.marker in request.url and not self.routes:
            self.routes.append((route, request.url))
            return
        route.continue_()

    def release(self) -> None:
        assert len(self.routes) == 1, self.routes
        route, url = self.routes[0]
        with self.page.expect_response(url):
            route.continue_()
        self.page.wait_for_timeout(300)
        self.page.unroute(self.pattern)
