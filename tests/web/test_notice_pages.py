"""The notices' pages: 宣传 for operators and leaders (a resident is refused, a signed-out
browser sent to log in) and the residents' 通知, which opens without sign-in."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Seeded
from tests.web.test_pages import log_in


def test_the_staff_page_is_for_the_command_room(client: TestClient, seeded: Seeded) -> None:
    away = client.get("/notices/manage", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith("/login?next=")
    log_in(client, "demo_resident", seeded.settings.demo_password)
    assert client.get("/notices/manage").status_code == 403
    client.cookies.clear()
    log_in(client, "demo_operator", seeded.settings.demo_password)
    page = client.get("/notices/manage")
    assert page.status_code == 200
    assert "/static/notices.js" in page.text and 'id="notice-form"' in page.text
    assert 'href="/notices/manage"' in page.text  # in the operator's navigation
    client.cookies.clear()
    log_in(client, "demo_leader", seeded.settings.demo_password)
    leader = client.get("/notices/manage")
    assert leader.status_code == 200 and 'id="notice-form"' not in leader.text  # reads only


def test_the_residents_notices_open_without_sign_in(client: TestClient, seeded: Seeded) -> None:
    page = client.get("/r/notices")
    assert page.status_code == 200
    assert 'id="login"' in page.text and "/static/resident_notices.js" in page.text
    assert 'href="/r/notices" aria-current="page"' in page.text
    log_in(client, "demo_resident", seeded.settings.demo_password)
    mine = client.get("/r/notices")
    assert 'id="logout"' in mine.text and "我所在的区域" in mine.text
