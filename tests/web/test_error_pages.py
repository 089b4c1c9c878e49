"""Refusals and mistyped addresses as a browser sees them: a Chinese page in the shell with the way
home and back, never raw JSON or an English line; the API keeps answering problem+json."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import Seeded
from tests.web.test_pages import log_in

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
TAG = re.compile(r"<[^>]+>")
LATIN = re.compile(r"[A-Za-z]{2,}")


def card_text(html: str) -> str:
    """The visible text of the error card."""
    card = html.split('id="page-error"', 1)[1].split("</div>", 1)[0]
    return TAG.sub(" ", card.split(">", 1)[1])


def test_a_mistyped_address_shows_the_chinese_404_page(client: TestClient) -> None:
    for path in ("/evnets", "/m/xyz", "/events/1/nope", "/admin/grids/extra"):
        response = client.get(path, headers=HTML)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert 'data-status="404"' in response.text, path
        text = card_text(response.text)
        assert "页面不存在" in text and "返回登录页" in text, text
        assert not LATIN.search(text), text


def test_api_paths_and_non_browsers_keep_problem_json(client: TestClient) -> None:
    for path, headers in (
        ("/api/v1/nothing-here", HTML),
        ("/static/nothing.js", HTML),
        ("/evnets", {"Accept": "application/json"}),
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json", path
        assert response.json()["title_zh"] == "未找到"


def test_signed_in_the_error_page_keeps_the_navigation(client: TestClient, seeded: Seeded) -> None:
    log_in(client, "admin", seeded.settings.demo_password)
    for path in ("/events/abc", "/admin/nope", "/evnets"):
        response = client.get(path, headers=HTML | {"Referer": "http://testserver/events"})
        assert response.status_code == 404, path
        assert 'class="main-nav"' in response.text, path
        text = card_text(response.text)
        assert "返回首页" in text and "返回上一页" in text, text
        assert 'id="error-back" href="/events"' in response.text
        assert not LATIN.search(text), text  # /admin/nope: the section name is not echoed


def test_the_403_page_is_chinese_with_a_way_back(client: TestClient, seeded: Seeded) -> None:
    log_in(client, "demo_handler", seeded.settings.demo_password)
    # A referrer on another site is not offered as the way back.
    refused = client.get("/map", headers=HTML | {"Referer": "https://elsewhere.example/x"})
    assert refused.status_code == 403
    text = card_text(refused.text)
    assert "无权操作" in text and "返回首页" in text, text
    assert "返回上一页" not in text
    assert not LATIN.search(text), text


def test_the_favicon_is_served(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/vnd.microsoft.icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
