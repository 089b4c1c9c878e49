"""The three Open311 clients from PyPI (`georeport`, `three`, `open311`) against a live server
(the small demo district over HTTP), in JSON and in XML: they list services and definitions,
post (form, multipart photo, an address alone), and read requests, tokens and updates back.
`three` and `open311` run from patched copies (tests/open311/clients.py says why)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import georeport
import httpx
import pytest
from sqlalchemy import select

from fengqiao.auth.service import create_api_key
from fengqiao.db import Database
from fengqiao.events.models import Event
from fengqiao.open311.service import hidden_codes
from fengqiao.taxonomy.snapshot import load_rules
from tests.e2e.conftest import LiveServer, serve_demo
from tests.events.conftest import jpeg
from tests.open311.clients import load_open311, load_three

FORMATS = ("json", "xml")


class Site:
    """The live server, a key of the demo device account, a point and a class to file in."""

    def __init__(self, server: LiveServer) -> None:
        self.endpoint = f"{server.base_url}/open311/v2"
        database = Database(server.settings.database_url)
        try:
            with database.transaction() as db:
                self.key = create_api_key(db=db, username="demo_device", name="clients").key
                self.lat, self.lng = db.execute(
                    select(Event.lat, Event.lng).where(Event.grid_id.is_not(None)).limit(1)
                ).one()
                rules = load_rules(db)
                hidden = hidden_codes(rules, server.settings.open311_hidden_majors)
                self.service_code = next(
                    code for code, category in sorted(rules.categories.items())
                    if category.active and code not in hidden
                    and not any(q.required for q in getattr(rules.intakes.get(code), "questions", ()))
                )  # fmt: skip
        finally:
            database.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_demo(tmp_path_factory.mktemp("open311-clients"), events=100) as server:
        yield Site(server)


@pytest.fixture(scope="module")
def patched_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("patched-clients")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("fmt", FORMATS)
def test_georeport_reads_services_and_requests(site: Site, fmt: str) -> None:
    client = georeport.GeoReport(site.endpoint, api_key=site.key, output_format=fmt)
    services = _as_list(client.get_service_list())
    codes = [s["service_code"] for s in services]
    assert site.service_code in codes and "0203" not in codes  # hidden classes stay hidden
    definition = client.get_service_definition(site.service_code)
    assert definition["service_code"] == site.service_code
    posted = httpx.post(
        f"{site.endpoint}/requests.json",
        data={"service_code": site.service_code, "lat": site.lat, "long": site.lng,
              "description": "georeport 读取测试"},
        headers={"X-Api-Key": site.key},
    ).json()[0]  # fmt: skip
    public_id = posted["service_request_id"]
    requests = _as_list(client.get_service_requests(status="open"))
    assert public_id in [r["service_request_id"] for r in requests]
    one = client.get_service_request(public_id)
    assert one["service_request_id"] == public_id and one["status"] == "open"
    assert one["description"] == "georeport 读取测试"
    (listed,) = _as_list(client.get_service_requests(service_request_id=public_id))
    assert listed["service_request_id"] == public_id


@pytest.mark.parametrize("fmt", FORMATS)
def test_three_posts_a_photo_and_an_address_alone(
    site: Site, fmt: str, patched_folder: Path, tmp_path: Path
) -> None:
    three = load_three(patched_folder)
    client = three.Three(site.endpoint, api_key=site.key, format=fmt)
    services = client.services()
    listed = services if fmt == "json" else services["service"]
    assert site.service_code in [s["service_code"] for s in listed]
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg("green"))
    with photo.open("rb") as media:
        posted = client.post(
            site.service_code, lat=str(site.lat), long=str(site.lng), name="三 张",
            phone="13857512345", description="three 带照片上报", media=media,
            address=f"笛扬路{fmt}号门前",
        )  # fmt: skip
    assert client.post_response.status_code == 200, client.post_response.text
    request = posted[0] if fmt == "json" else posted["request"]
    public_id, token = request["service_request_id"], request["token"]
    assert public_id.startswith("R")
    found = client.request(public_id)
    one = found[0] if fmt == "json" else found["request"]
    assert one["description"] == "three 带照片上报"
    by_token = client.token(token)
    assert (by_token[0] if fmt == "json" else by_token["request"])[
        "service_request_id"
    ] == public_id
    # Only an address: placed on the district's map by the address of an earlier report.
    first = client.requests(service_request_id=public_id)
    address = (first[0] if fmt == "json" else first["request"])["address"]
    assert address == f"笛扬路{fmt}号门前"
    again = client.post(site.service_code, address=address, description="只有地址")
    assert client.post_response.status_code == 200, client.post_response.text
    placed = client.request((again[0] if fmt == "json" else again["request"])["service_request_id"])
    placed_one = placed[0] if fmt == "json" else placed["request"]
    assert (float(placed_one["lat"]), float(placed_one["long"])) == (
        pytest.approx(site.lat),
        pytest.approx(site.lng),
    )
    client.post(site.service_code, address="火星基地 1 号", description="无法定位")
    assert client.post_response.status_code == 400
    assert "无法在辖区内定位" in client.post_response.text


@pytest.mark.parametrize("fmt", FORMATS)
def test_open311_posts_with_the_key_in_the_query_and_reads_back(
    site: Site, fmt: str, patched_folder: Path
) -> None:
    open311 = load_open311(patched_folder)
    client = open311.Open311(endpoint=site.endpoint, api_key=site.key, format=fmt)
    if fmt == "xml":  # it always asks for services.xml, and parses it in the chosen format
        services = client.service_list()
        assert site.service_code in [s["service_code"] for s in services]
    posted = client.post_service_request(
        service_code=site.service_code, lat=site.lat, long=site.lng,
        description="open311 客户端上报", email="resident@example.cn",
    )  # fmt: skip
    request = posted[0] if fmt == "json" else posted["service_requests"]["request"]
    public_id = request["service_request_id"]
    one = client.get_service_request(public_id)
    body = one[0] if fmt == "json" else one["service_requests"]["request"]
    assert body["service_request_id"] == public_id
    assert body["description"] == "open311 客户端上报"
    if fmt == "xml":  # its list and token readers index XML's shape, whatever the format
        listed = _as_list(client.service_requests(service_request_id=public_id))
        assert [r["service_request_id"] for r in listed] == [public_id]
        token = client.request_id_from_token(request["token"])
        assert token["service_request_id"] == public_id
    updates = httpx.get(f"{site.endpoint}/servicerequestupdates.{fmt}")
    assert updates.status_code == 200 and public_id in updates.text
