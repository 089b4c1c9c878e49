"""The app served by uvicorn on a local port over a seeded SQLite file, and Debian's Chromium.

E2E runs on SQLite only: the pages see the database only through the API, which the storage
tests already cover on PostgreSQL.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, Request, ViewportSize, sync_playwright

from fengqiao.app import create_app
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.demo.seed import seed
from fengqiao.migrate import upgrade
from scripts.screenshot import DESKTOP, launch_chromium
from tests.conftest import make_settings

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LOCAL_HOST = "127.0.0.1"
PHONE: ViewportSize = {"width": 375, "height": 812}


@dataclass
class LiveServer:
    base_url: str
    settings: Settings


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The small demo district served over HTTP in a background thread for the whole session."""
    tmp = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{tmp / 'e2e.db'}"
    upgrade(url)
    settings = make_settings(url, tmp)
    database = Database(url)
    seed(db=database, scale="small", password=settings.demo_password)
    database.dispose()

    # Bind first and hand the socket to uvicorn: no race for the free port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOCAL_HOST, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
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
    yield LiveServer(base_url, settings)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


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


def open_visit(browser: Browser, live_server: LiveServer, viewport: ViewportSize) -> Visit:
    """A fresh context (its own sessionStorage) at the home page, recording what goes wrong."""
    context = browser.new_context(viewport=viewport)
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
    page.goto(f"{live_server.base_url}/")
    return visit


@pytest.fixture
def visit(browser: Browser, live_server: LiveServer) -> Iterator[Visit]:
    """The home page in a 1280×800 tab."""
    opened = open_visit(browser, live_server, DESKTOP)
    yield opened
    opened.page.context.close()


@pytest.fixture
def phone_visit(browser: Browser, live_server: LiveServer) -> Iterator[Visit]:
    """The home page in a 375 px wide tab."""
    opened = open_visit(browser, live_server, PHONE)
    yield opened
    opened.page.context.close()
