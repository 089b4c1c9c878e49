"""The shell in a real browser: login, where each role lands, navigation, the scope shown,
sessions that expire, logout, CSRF, and pages that load nothing from other hosts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import httpx
import pytest
from playwright.sync_api import Browser, expect

from fengqiao.auth.cookies import SESSION_COOKIE
from fengqiao.auth.security import issue_token
from scripts.screenshot import DESKTOP, log_in
from tests.e2e.conftest import LiveServer, Visit, World, open_visit, settle, sign_in

pytestmark = pytest.mark.e2e


def test_the_login_page_loads_offline_without_errors(visit: Visit) -> None:
    page = visit.page
    expect(page).to_have_title(re.compile("登录 · 枫桥"))
    expect(page.locator(".brand-name")).to_have_text("枫桥 · 基层智慧治理平台")
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator(".main-nav")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    visit.screenshot("login")
    visit.assert_clean()


def test_a_wrong_password_shows_the_chinese_error(visit: Visit) -> None:
    log_in(visit.page, "demo_operator", "not-the-password")
    expect(visit.page.locator("#login-error")).to_contain_text("用户名或密码错误")
    expect(visit.page.locator("#username")).to_have_value("demo_operator")
    assert visit.page.url.endswith("/login")
    visit.screenshot("login-error")
    # The 401 of the form post is logged by Chromium as a failed resource, nothing else.
    assert all("401" in message for message in visit.errors), visit.errors


@pytest.mark.parametrize(
    ("user", "landing", "nav", "roles"),
    [
        (
            "demo_operator",
            "/map",
            [
                "一张图",
                "驾驶舱",
                "事件中心",
                "代办",
                "督办单",
                "分析研判",
                "考核",
                "每日通报",
                "工作机制",
                "预警",
                "会商",
                "宣传",
                "消息",
                "发送失败",
            ],
            "指挥室坐席",
        ),
        (
            "demo_leader",
            "/map",
            [
                "一张图",
                "驾驶舱",
                "事件中心",
                "代办",
                "督办单",
                "分析研判",
                "考核",
                "每日通报",
                "工作机制",
                "预警",
                "会商",
                "宣传",
                "消息",
            ],
            "领导",
        ),
        # A handler signs and feeds back on the phone too (签收, 反馈 with the camera).
        (
            "demo_handler",
            "/events?task=inbox",
            ["事件中心", "督办单", "督办事项", "预警", "消息", "手机版"],
            "处置人员",
        ),
        (
            "admin",
            "/map",
            [
                "一张图",
                "事件中心",
                "代办",
                "督办单",
                "分析研判",
                "考核",
                "每日通报",
                "预警",
                "消息",
                "发送失败",
                "系统管理",
            ],
            "管理员",
        ),
    ],
)
def test_each_role_lands_on_its_page_with_its_navigation(
    visit: Visit, live_server: LiveServer, user: str, landing: str, nav: list[str], roles: str
) -> None:
    page = visit.page
    sign_in(visit, user, live_server.settings.demo_password)
    assert page.url == live_server.base_url + landing
    expect(page.locator(".main-nav .nav-link")).to_have_text(nav)
    expect(page.locator("#user-roles")).to_contain_text(roles)
    expect(page.locator("#user-home")).to_contain_text("辖区：")
    expect(page.locator(".nav-link.is-current")).to_have_count(1)
    settle(page)
    visit.assert_clean()


def test_the_scope_is_shown(visit: Visit, live_server: LiveServer) -> None:
    sign_in(visit, "demo_operator", live_server.settings.demo_password, landing="/events")
    expect(visit.page.locator("#user-home")).to_have_text("辖区：柯桥街道")
    sign_in(visit, "demo_district_operator", live_server.settings.demo_password, "/events")
    expect(visit.page.locator("#user-home")).to_have_text("辖区：柯桥区")


def test_a_page_asks_for_login_and_comes_back(visit: Visit, live_server: LiveServer) -> None:
    page = visit.page
    page.goto(live_server.base_url + "/supervision?status=open")
    assert "/login?next=" in page.url
    log_in(page, "demo_operator", live_server.settings.demo_password)
    assert page.url == live_server.base_url + "/supervision?status=open"
    expect(page.locator("h1")).to_have_text("督办单")


def test_an_expired_session_asks_to_log_in_again(
    browser: Browser, live_server: LiveServer, world: World
) -> None:
    visit = open_visit(browser, live_server, DESKTOP)
    expired = issue_token(
        user_id=world.ids["demo_operator"],
        key=live_server.settings.secret_key or "",
        minutes=5,
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    visit.page.context.add_cookies(
        [{"name": SESSION_COOKIE, "value": expired, "url": live_server.base_url}]
    )
    visit.page.goto(live_server.base_url + "/map")
    expect(visit.page.locator("#login-notice")).to_have_text("登录已过期，请重新登录")
    assert "reason=expired" in visit.page.url
    log_in(visit.page, "demo_operator", live_server.settings.demo_password)
    assert visit.page.url == live_server.base_url + "/map"
    visit.page.context.close()


def test_logout_ends_the_session(visit: Visit, live_server: LiveServer) -> None:
    page = visit.page
    sign_in(visit, "demo_operator", live_server.settings.demo_password, landing="/events")
    page.get_by_role("button", name="退出").click()
    expect(page.locator("#login-notice")).to_have_text("您已安全退出")
    assert not [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    page.goto(live_server.base_url + "/events")
    assert "/login" in page.url
    # A read of the page still on its way when the session ended is answered 401 (Chromium logs
    # it as a failed resource); the page stays on 您已安全退出 all the same.
    assert all("401" in message for message in visit.errors), visit.errors
    assert visit.foreign_requests == []


def _form_session(live_server: LiveServer, user: str) -> httpx.Client:
    client = httpx.Client(base_url=live_server.base_url)
    login = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token
    response = client.post(
        "/login",
        data={
            "username": user,
            "password": live_server.settings.demo_password,
            "csrf_token": token[1],
        },
    )
    assert response.status_code == 303, response.text
    return client


def test_cookie_requests_that_change_things_need_the_csrf_token(
    live_server: LiveServer, world: World
) -> None:
    client = _form_session(live_server, "demo_grid_worker")
    lat, lng = world.grid_point
    body = {"source": "grid_worker", "category": world.handler_category, "lat": lat, "lng": lng}
    refused = client.post("/api/v1/events", json=body)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "CSRF" in refused.json()["detail_zh"]
    # Reading needs no token; the page's token makes the write go through.
    assert client.get("/api/v1/users/me").json()["username"] == "demo_grid_worker"
    page = client.get("/m/")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert csrf
    accepted = client.post("/api/v1/events", json=body, headers={"X-CSRF-Token": csrf[1]})
    assert accepted.status_code == 201, accepted.text
    # Another session's token is no good for this one.
    other = _form_session(live_server, "demo_grid_worker")
    stale = other.post("/api/v1/events", json=body, headers={"X-CSRF-Token": csrf[1]})
    assert stale.status_code == 403


def test_a_login_form_from_elsewhere_is_refused(live_server: LiveServer) -> None:
    response = httpx.post(
        live_server.base_url + "/login",
        data={"username": "demo_operator", "password": live_server.settings.demo_password},
    )
    assert response.status_code == 403
    assert "页面已过期" in response.text
    assert SESSION_COOKIE not in response.cookies


def test_a_next_address_never_leaves_the_site(live_server: LiveServer) -> None:
    client = httpx.Client(base_url=live_server.base_url)
    login = client.get("/login", params={"next": "//evil.example/x"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token and 'name="next" value=""' in login.text
    response = client.post(
        "/login",
        data={
            "username": "demo_operator",
            "password": live_server.settings.demo_password,
            "csrf_token": token[1],
            "next": "https://evil.example/",
        },
    )
    assert response.headers["location"] == "/map"


def test_a_page_outside_the_role_is_a_403_page(visit: Visit, live_server: LiveServer) -> None:
    sign_in(visit, "demo_handler", live_server.settings.demo_password, landing="/map")
    expect(visit.page.locator("#page-error[data-status='403']")).to_contain_text("无权操作")
    visit.screenshot("page-403")


class _Links(HTMLParser):
    """Every src= and href= value of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


@pytest.mark.parametrize(
    ("user", "path"),
    [
        (None, "/login"),
        (None, "/docs"),
        ("demo_operator", "/map"),
        ("demo_operator", "/events"),
        ("demo_operator", "/supervision"),
        ("demo_operator", "/outbox"),
        ("demo_operator", "/messages"),
        ("demo_grid_worker", "/m/"),
        ("admin", "/admin/grids"),
    ],
)
def test_pages_use_only_local_assets(live_server: LiveServer, user: str | None, path: str) -> None:
    client = (
        _form_session(live_server, user) if user else httpx.Client(base_url=live_server.base_url)
    )
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    parser = _Links()
    parser.feed(response.text)
    external = [u for u in parser.urls if re.match(r"(https?:)?//", u)]
    assert external == []
    local = [u for u in parser.urls if u.startswith("/static/") or u.startswith("/m/")]
    assert local
    for url in local:
        assert client.get(url).status_code == 200, url
