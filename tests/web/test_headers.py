"""The security headers: one strict Content-Security-Policy on every response (pages, API,
errors, static files, /docs), no framing, no sniffing, a short referrer; pages and templates
that need nothing inline; the basemap's tile origin allowed for images. The browser tests
(tests/e2e/test_stored_scripts.py) show the pages working under the policy in Chromium."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient

from fengqiao.app import create_app
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.web import TEMPLATES_DIR
from fengqiao.web.headers import STANDALONE_DOCUMENTS
from tests.conftest import BoundDatabase, Seeded
from tests.web.test_pages import log_in

Auth = Callable[[str], dict[str, str]]


def policy(response: object) -> dict[str, list[str]]:
    """The Content-Security-Policy header as directive → sources."""
    header = response.headers.get("content-security-policy")  # type: ignore[attr-defined]
    assert header, f"no CSP on {response.request.url}"  # type: ignore[attr-defined]
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} twice"
        directives[name] = sources
    return directives


def assert_strict(response: object) -> dict[str, list[str]]:
    headers = response.headers  # type: ignore[attr-defined]
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no nonce
    assert csp["style-src"][0] == "'self'"
    assert all(s == "'self'" or s.startswith("'sha256-") for s in csp["style-src"])
    assert csp["connect-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["img-src"][:3] == ["'self'", "data:", "blob:"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert len(headers.get_list("content-security-policy")) == 1
    return csp


def test_every_kind_of_response_carries_the_policy_and_headers(
    client: TestClient, seeded: Seeded, auth: Auth
) -> None:
    anonymous = [
        client.get("/login"),
        client.get("/events", follow_redirects=False),  # a redirect to the login page
        client.get("/api/v1/events"),  # 401 problem+json
        client.get("/static/fq.js"),
        client.get("/static/vendor/leaflet.js"),
        client.get("/openapi.json"),
        client.get("/docs"),
        client.get("/m/sw.js"),
        client.get("/no/such/page"),
    ]
    staff = auth("demo_operator")
    api_calls = [
        client.get("/api/v1/events?size=5", headers=staff),
        client.get("/api/v1/events/999999999", headers=staff),  # 404 problem+json
        client.get("/api/v1/events?size=oops", headers=staff),  # 422 problem+json
    ]
    log_in(client, "demo_operator", seeded.settings.demo_password)
    pages = [client.get(path) for path in ("/map", "/events", "/analytics", "/admin/grids")]
    for response in anonymous + api_calls + pages:
        assert_strict(response)
    assert {r.status_code for r in anonymous + api_calls + pages} >= {200, 303, 401, 403, 404, 422}


def test_pages_need_no_inline_script_or_style(client: TestClient, seeded: Seeded) -> None:
    """Every template (so every page) loads scripts and styles from files: no inline script, no
    event-handler attribute, no style attribute, no <style> except a standalone document's."""
    for template in sorted([*TEMPLATES_DIR.glob("*.html"), *STANDALONE_DOCUMENTS]):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (template.name, tag)
        inline = [b for b in re.findall(r"<script\b[^>]*>(.*?)</script>", text, re.S) if b.strip()]
        assert all("{{ labels }}" in body for body in inline), template.name
        assert not re.search(r"\sstyle\s*=", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert "javascript:" not in text, template.name
        if template.name != "bulletin_doc.html":
            assert "<style" not in text, template.name
    # The rendered pages too, as an administrator sees them.
    log_in(client, "admin", seeded.settings.demo_password)
    for path in ("/map", "/events", "/events/1", "/analytics", "/assessment", "/bulletins",
                 "/warnings", "/supervision", "/messages", "/outbox", "/admin/users",
                 "/services", "/proxy", "/docs"):  # fmt: skip
        page = client.get(path).text
        assert not re.search(r"\sstyle\s*=", page), path
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)


def test_the_api_explorer_starts_from_a_static_script(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert "/static/vendor/swagger-ui-bundle.js" in scripts
    init = next(s for s in scripts if s.startswith("/static/swagger-init.js"))
    body = client.get(init)
    assert body.status_code == 200 and "SwaggerUIBundle(" in body.text
    assert "validatorUrl: null" in body.text
    assert_strict(page)


@pytest.fixture
def tiled(bound: BoundDatabase, seeded: Seeded) -> Iterator[TestClient]:
    settings = seeded.settings.model_copy(
        update={"basemap_url": "https://t{s}.tianditu.gov.cn/vec_w/wmts?TILEMATRIX={z}&tk=KEY"}
    )
    with TestClient(create_app(settings, database=bound)) as client:
        yield client


def test_a_configured_basemap_may_serve_tiles_and_nothing_else(
    tiled: TestClient, client: TestClient
) -> None:
    with_tiles = assert_strict(tiled.get("/login"))
    assert with_tiles["img-src"] == ["'self'", "data:", "blob:", "https://*.tianditu.gov.cn"]
    assert "tianditu" not in tiled.get("/login").headers["content-security-policy"].replace(
        "img-src 'self' data: blob: https://*.tianditu.gov.cn", ""
    )
    assert assert_strict(client.get("/login"))["img-src"] == ["'self'", "data:", "blob:"]


@pytest.fixture
def on_day(bound: BoundDatabase, seeded: Seeded) -> Iterator[TestClient]:
    clock = FixedClock(datetime(2027, 1, 25, 9, 0, tzinfo=LOCAL_TZ))
    with TestClient(create_app(seeded.settings, database=bound, clock=clock)) as client:
        yield client


def test_the_bulletin_document_keeps_its_own_stylesheet_by_hash(
    on_day: TestClient, auth: Auth
) -> None:
    """The daily bulletin is a standalone document (downloaded, mailed, printed): its one fixed
    <style> block is allowed by its hash, so it is styled in the browser under the policy."""
    response = on_day.get(f"/api/v1/bulletins/{date(2027, 1, 5)}.html",
                          headers=auth("demo_district_leader"))  # fmt: skip
    assert response.status_code == 200
    blocks = re.findall(r"<style>(.*?)</style>", response.text, re.S)
    assert len(blocks) == 1
    digest = base64.b64encode(hashlib.sha256(blocks[0].encode()).digest()).decode()
    assert assert_strict(response)["style-src"] == ["'self'", f"'sha256-{digest}'"]
