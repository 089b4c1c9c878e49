"""The residents' app's pages (issue 19, item 1): /r/ is a PWA scoped to /r/, signed out it goes
to /r/login, which signs a resident in by SMS code in two form posts and sets the session
cookie like the password login; no staff navigation; staff are not residents."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fengqiao.clock import FixedClock
from tests.residents.conftest import code_in_outbox, make_app

PHONE = "13955501234"


def _token(page: Any) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found[1]


def _post(api: TestClient, token: str, **fields: str) -> Any:
    return api.post(
        "/r/login", data={"csrf_token": token, "next": "/r/", **fields}, follow_redirects=False
    )


def test_the_residents_app_is_a_pwa_scoped_to_r(api: TestClient) -> None:
    manifest = api.get("/r/manifest.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"
    body = manifest.json()
    assert body["name"] == "枫桥随手拍" and body["theme_color"] == "#0b7a53"
    assert body["scope"] == "/r/" and body["start_url"] == "/r/" and body["lang"] == "zh-CN"
    for icon in body["icons"]:
        assert api.get(icon["src"]).status_code == 200
    worker = api.get("/r/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    assert worker.headers["service-worker-allowed"] == "/r/"
    assert '"/r/"' in worker.text and "/api/" in worker.text


def test_signed_out_r_goes_to_the_code_sign_in(api: TestClient) -> None:
    first = api.get("/r/", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/r/login?next=%2Fr%2F"
    page = api.get(first.headers["location"])
    assert page.status_code == 200
    assert '<link rel="manifest" href="/r/manifest.webmanifest">' in page.text
    assert 'id="r-phone"' in page.text and "获取验证码" in page.text
    assert 'href="/login?next=/r/"' in page.text and "使用已有账号登录" in page.text
    assert "site-header" not in page.text and "main-nav" not in page.text


def test_a_resident_signs_in_on_the_page_and_gets_the_app(api: TestClient, db: Session) -> None:
    token = _token(api.get("/r/login?next=/r/"))
    sent = _post(api, token, step="send", phone="139 5550 1234")
    assert sent.status_code == 200, sent.text
    assert "139****1234" in sent.text and 'id="r-code"' in sent.text
    assert "13955501234</" not in sent.text  # shown masked; the number rides in a hidden field
    token = _token(sent)
    wrong = _post(api, token, step="verify", phone=PHONE, code="000000")
    if code_in_outbox(db, PHONE) != "000000":
        assert wrong.status_code == 401 and "验证码不正确" in wrong.text
        token = _token(wrong)
    signed = _post(api, token, step="verify", phone=PHONE, code=code_in_outbox(db, PHONE))
    assert signed.status_code == 303 and signed.headers["location"] == "/r/"
    app = api.get("/r/")
    assert app.status_code == 200 and 'id="r-app"' in app.text
    assert "site-header" not in app.text and 'aria-current="page"' in app.text
    assert "r-logout" in app.text  # signed in: the header offers 退出
    # 退出 ends the session and comes back to the app's own sign-in page, which says so.
    out = api.post("/logout", data={"csrf_token": _token(app), "app": "resident"},
                   follow_redirects=False)  # fmt: skip
    assert out.status_code == 303 and out.headers["location"] == "/r/login?reason=logout"
    assert "您已安全退出" in api.get(out.headers["location"]).text
    assert api.get("/r/", follow_redirects=False).status_code == 303


def test_the_sign_in_page_refuses_bad_input_in_chinese(api: TestClient) -> None:
    token = _token(api.get("/r/login"))
    bad = _post(api, token, step="send", phone="12345")
    assert bad.status_code == 422 and "手机号格式不正确" in bad.text
    stale = _post(api, "not-the-token", step="send", phone=PHONE)
    assert stale.status_code == 403 and "页面已过期" in stale.text


def test_staff_are_not_residents(api: TestClient, seeded: Any) -> None:
    page = api.get("/login")
    api.post(
        "/login",
        data={"username": "demo_operator", "password": seeded.settings.demo_password,
              "csrf_token": _token(page)},
        follow_redirects=False,
    )  # fmt: skip
    refused = api.get("/r/")
    assert refused.status_code == 403 and "随手拍供群众使用" in refused.text


def test_a_code_asked_for_again_too_soon_keeps_the_code_box(
    bound: Any, seeded: Any, clock: FixedClock, tmp_path: Any, db: Session
) -> None:
    """With the limits on (1 a minute per number): the second ask is refused for now, but the
    code box stays for the code already sent, and that code signs in."""
    with TestClient(make_app(bound, seeded, clock, tmp_path)) as api:
        token = _token(api.get("/r/login?next=/r/"))
        sent = _post(api, token, step="send", phone=PHONE)
        assert sent.status_code == 200 and 'id="r-code"' in sent.text
        again = _post(api, _token(sent), step="send", phone=PHONE)
        assert again.status_code == 429 and "过于频繁" in again.text
        assert 'id="r-code"' in again.text and "139****1234" in again.text
        signed = _post(api, _token(again), step="verify", phone=PHONE,
                       code=code_in_outbox(db, PHONE))  # fmt: skip
        assert signed.status_code == 303 and signed.headers["location"] == "/r/"
