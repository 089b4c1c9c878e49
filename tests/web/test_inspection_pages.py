"""The supervision pages: 督查整改, the round form and a round's page for the command room (a
resident and a grid worker are refused, a signed-out browser is sent to log in); the standard's
editor only for the district's administrators and leaders; the self-assessment form for a
town's operators and leaders."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Seeded
from tests.web.test_pages import log_in


def test_the_pages_are_for_the_command_room(client: TestClient, seeded: Seeded) -> None:
    away = client.get("/inspections", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith("/login?next=")
    for user in ("demo_resident", "demo_grid_worker"):
        log_in(client, user, seeded.settings.demo_password)
        assert client.get("/inspections").status_code == 403
        assert client.get("/standards").status_code == 403
        client.cookies.clear()
    log_in(client, "demo_operator", seeded.settings.demo_password)
    page = client.get("/inspections")
    assert page.status_code == 200 and "/static/inspections.js" in page.text
    assert 'href="/inspections/self-assessment"' in page.text
    assert 'href="/inspections"' in client.get("/supervision").text  # from the head of 督办单
    form = client.get("/inspections/new")
    assert form.status_code == 200 and 'data-mode="round"' in form.text
    assert client.get("/inspections/self-assessment").status_code == 200
    assert client.get("/inspections/rounds/1").status_code == 200  # its script asks the API
    standards = client.get("/standards")
    assert standards.status_code == 200 and 'id="standard-editor"' not in standards.text


def test_the_standards_editor_is_for_the_districts_leaders(
    client: TestClient, seeded: Seeded
) -> None:
    log_in(client, "demo_leader", seeded.settings.demo_password)
    assert 'id="standard-editor"' not in client.get("/standards").text  # a town's leader reads
    client.cookies.clear()
    log_in(client, "demo_district_leader", seeded.settings.demo_password)
    page = client.get("/standards")
    assert 'id="standard-editor"' in page.text and "/static/standards.js" in page.text
    assert client.get("/inspections/self-assessment").status_code == 200
