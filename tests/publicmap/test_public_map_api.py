"""The public map's data (`GET /api/v1/public/reports`): no sign-in, classes hidden from the public
never shown, points on a fixed ~50 m grid, no personal data, filters, bad input refused with the
field named, and clusters that keep the count."""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit
from fengqiao.publicmap import service
from fengqiao.publicmap.service import public_text, snap
from fengqiao.taxonomy.snapshot import load_rules

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL_TZ)
URL = "/api/v1/public/reports"
PHONE = "13857512345"
RESIDENT = "欧阳翠花"
HIDDEN_CLASS = "0203"  # 02 社会治安: hidden by default (open311_hidden_majors)


@pytest.fixture
def api(bound: Any, seeded: Any, tmp_path: Any) -> Iterator[TestClient]:
    settings = seeded.settings.model_copy(
        update={"data_dir": tmp_path, "rules_check_seconds": 0, "read_cache_seconds": 0}
    )
    app = create_app(settings, database=bound, clock=FixedClock(NOW))
    with TestClient(app) as client:
        yield client


class Reports:
    """Inserts events straight into the seeded district (the map only reads them)."""

    def __init__(self, db: Session) -> None:
        self.db = db
        worker = db.scalars(select(User).where(User.username == "demo_grid_worker")).one()
        grid = db.get(OrgUnit, worker.home_org_id)
        assert grid is not None and grid.min_lat is not None and grid.min_lng is not None
        assert grid.max_lat is not None and grid.max_lng is not None
        self.grid = grid
        self.centre = ((grid.min_lat + grid.max_lat) / 2, (grid.min_lng + grid.max_lng) / 2)
        path = [int(p) for p in grid.path.strip("/").split("/")]
        self.town_id, self.village_id = path[1], grid.parent_id or path[-2]
        self.village_name = db.get(OrgUnit, self.village_id).name  # type: ignore[union-attr]
        resident = db.scalars(select(User).where(User.username == "demo_resident")).one()
        resident.name, resident.phone = RESIDENT, PHONE
        self.reporter = resident
        self.rules = load_rules(db)
        self.count = 0

    def add(
        self, *, code: str = "0101", status: str = "reported", days_ago: float = 1,
        lat: float | None = None, lng: float | None = None, description: str = "路灯不亮",
        address: str = "笛扬路 88 号 3 幢 2 单元",
    ) -> Event:  # fmt: skip
        self.count += 1
        category = self.rules.categories[code]
        at = NOW - timedelta(days=days_ago)
        event = Event(
            code=f"PM{self.count:06d}", title="居民上报", description=description,
            category_code=code, category_name=category.name_zh, major_code=category.major_code,
            major_name=category.major_name, platform=category.platform, level=2, source="resident",
            reporter_id=self.reporter.id, contact_phone=PHONE,
            lat=self.centre[0] if lat is None else lat, lng=self.centre[1] if lng is None else lng,
            address=address, grid_id=self.grid.id, village_id=self.village_id,
            town_id=self.town_id, status=status, created_at=at, updated_at=at,
            result="已由李建国处理完毕", pending_note="内部：联系王队长",
        )  # fmt: skip
        self.db.add(event)
        self.db.flush()
        return event


@pytest.fixture
def reports(db: Session) -> Reports:
    return Reports(db)


def _features(api: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = api.get(URL, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    return list(body["features"])


def test_anyone_reads_recent_reports_of_visible_classes(api: TestClient, reports: Reports) -> None:
    shown = reports.add(code="0101", status="closed")
    reports.add(code=HIDDEN_CLASS)  # a clue to public order: never on the public map
    reports.add(days_ago=120)  # older than the default 90 days
    features = _features(api)
    assert len(features) == 1
    props = features[0]["properties"]
    assert props["status"] == "fixed"
    assert props["category"] == "0101" and props["category_name"] == shown.category_name
    assert props["date"] == (NOW - timedelta(days=1)).date().isoformat()
    assert props["place"] == reports.village_name
    assert HIDDEN_CLASS not in api.get(URL, params={"days": 366}).text
    assert len(_features(api, days=366)) == 2
    # Asking for the hidden class by name reads like a class that does not exist.
    assert _features(api, category=HIDDEN_CLASS) == _features(api, category="9999") == []
    assert _features(api, category="02") == []


def test_points_are_snapped_to_a_50_metre_grid(api: TestClient, reports: Reports) -> None:
    lat, lng = reports.centre
    reports.add(lat=lat, lng=lng)
    reports.add(lat=lat + 0.00001, lng=lng + 0.00001)  # a metre away: the same cell
    features = _features(api)
    points = {tuple(f["geometry"]["coordinates"]) for f in features}
    assert len(features) == 2 and len(points) == 1
    shown_lng, shown_lat = points.pop()
    assert (shown_lat, shown_lng) == snap(lat, lng) != (lat, lng)
    metres_north = (shown_lat - lat) * service.METRES_PER_DEGREE
    metres_east = (shown_lng - lng) * service.METRES_PER_DEGREE * math.cos(math.radians(lat))
    assert math.hypot(metres_north, metres_east) <= 36  # half the cell's diagonal
    # The same answer every time: no jitter to average away.
    assert _features(api) == features


def test_a_narrow_box_cannot_find_the_true_point(api: TestClient, reports: Reports) -> None:
    lat, lng = reports.centre
    reports.add(lat=lat, lng=lng)
    shown_lat, shown_lng = snap(lat, lng)
    tiny = 0.00002
    # A box around the true point that misses the snapped one finds nothing.
    if abs(shown_lat - lat) > tiny or abs(shown_lng - lng) > tiny:
        box = f"{lng - tiny},{lat - tiny},{lng + tiny},{lat + tiny}"
        assert _features(api, bbox=box) == []
    box = f"{shown_lng - tiny},{shown_lat - tiny},{shown_lng + tiny},{shown_lat + tiny}"
    assert len(_features(api, bbox=box)) == 1


def test_no_personal_data_reaches_the_answer(
    api: TestClient, reports: Reports, db: Session
) -> None:
    handler = db.scalars(select(User).where(User.username == "demo_handler")).one()
    description = f"我是{RESIDENT}，电话 {PHONE}，身份证 330621198001011234，小区门口路灯坏了"
    event = reports.add(description=description)
    text = api.get(URL).text
    for secret in (
        RESIDENT,
        PHONE,
        "330621198001011234",
        handler.name,
        "李建国",
        "王队长",
        "笛扬路",
        event.code,
        "reporter",
        "phone",
        "address",
    ):
        assert secret not in text
    props = _features(api)[0]["properties"]
    assert set(props) == {"ref", "status", "category", "category_name", "date", "text", "place"}
    assert props["text"].startswith("我是") and "＊＊＊" in props["text"]
    # `ref` names the event without its code or id: a keyed hash the server can recompute.
    key = service.ref_key(api.app.state.signing_key)  # type: ignore[attr-defined]
    assert props["ref"] == service.public_ref(event.id, key) != str(event.id)
    assert len(props["text"]) <= service.TEXT_CHARS


def test_public_text_masks_numbers_and_trims() -> None:
    assert public_text("电话 138-5751-2345 请回电") == "电话 ＊＊＊ 请回电"
    assert public_text("门牌 12 号") == "门牌 12 号"
    assert public_text("", "标题") == "标题"
    long = public_text("字" * 200)
    assert len(long) == service.TEXT_CHARS and long.endswith("…")
    assert public_text("<img src=x onerror=alert(1)>") == "<img src=x onerror=alert(1)>"


def test_filters_by_class_status_and_box(api: TestClient, reports: Reports) -> None:
    lat, lng = reports.centre
    reports.add(code="0101", status="closed")
    reports.add(code="0101", status="dispatched")
    reports.add(code="0102", status="rejected", lat=lat + 0.01)
    assert len(_features(api)) == 3
    assert len(_features(api, category="0101")) == 2
    assert len(_features(api, category="01")) == 3  # a major class names its minor classes
    assert [f["properties"]["status"] for f in _features(api, status="fixed")] == ["fixed"]
    assert len(_features(api, status="fixed,in_progress")) == 2
    assert len(_features(api, status="closed_unfixed", category="0101")) == 0
    south = f"{lng - 0.01},{lat - 0.005},{lng + 0.01},{lat + 0.005}"
    assert len(_features(api, bbox=south)) == 2
    assert len(_features(api, bbox=f"{lng - 0.01},{lat + 0.005},{lng + 0.01},{lat + 0.02}")) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bbox": "120.5,30.0,120.6"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": "120.6,30.0,120.5,30.1"}, "bbox"),  # west beyond east
        ({"bbox": "118,29,121,30.1"}, "bbox"),  # three degrees wide
        ({"bbox": "1" * 200}, "bbox"),
        ({"status": "open"}, "status"),
        ({"status": "<script>"}, "status"),
        ({"category": "0101;drop"}, "category"),
        ({"category": ",".join(f"{i:04d}" for i in range(21))}, "category"),
        ({"category": "x" * 401}, "category"),
        ({"days": "0"}, "days"),
        ({"days": "400"}, "days"),
        ({"zoom": "21"}, "zoom"),
    ],
)
def test_bad_input_is_refused_with_its_field(
    api: TestClient, params: dict[str, str], field: str
) -> None:
    response = api.get(URL, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert field in problem["detail"]
    assert "detail_zh" in problem and field not in problem["detail_zh"]


def test_many_reports_cluster_and_keep_the_count(api: TestClient, reports: Reports) -> None:
    lat, lng = reports.centre
    statuses = ("reported", "closed", "dispatched", "rejected")
    made = 0
    for i in range(16):
        for j in range(16):
            reports.add(
                lat=lat - 0.01 + i * 0.0013, lng=lng - 0.01 + j * 0.0013,
                status=statuses[(i + j) % 4],
            )  # fmt: skip
            made += 1
    body = api.get(URL, params={"zoom": 12}).json()
    assert body["total"] == made > service.FEW and body["clustered"] is True
    clusters = [f for f in body["features"] if f["properties"].get("cluster")]
    singles = [f for f in body["features"] if not f["properties"].get("cluster")]
    assert clusters and len(body["features"]) < made
    assert sum(f["properties"]["count"] for f in clusters) + len(singles) == made
    by_status: dict[str, int] = {}
    for f in clusters:
        for key, n in f["properties"]["statuses"].items():
            by_status[key] = by_status.get(key, 0) + n
    for f in singles:
        by_status[f["properties"]["status"]] = by_status.get(f["properties"]["status"], 0) + 1
    assert by_status == {"submitted": 64, "fixed": 64, "in_progress": 64, "closed_unfixed": 64}
    # Zoomed in on a street, the same reports come one by one.
    close = api.get(URL, params={"zoom": 17}).json()
    assert close["clustered"] is False and len(close["features"]) == made


def test_the_answer_is_gzip_compressed_and_tagged(api: TestClient, reports: Reports) -> None:
    for i in range(40):
        reports.add(lat=reports.centre[0] + i * 0.001)
    response = api.get(URL, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    etag = response.headers["etag"]
    again = api.get(URL, headers={"If-None-Match": etag})
    assert again.status_code == 304
    raw = api.get(URL, headers={"Accept-Encoding": "identity"})
    assert len(gzip.compress(raw.content)) < len(raw.content)


def test_meta_lists_visible_classes_and_statuses(api: TestClient) -> None:
    response = api.get("/api/v1/public/reports/meta")
    assert response.status_code == 200
    meta = response.json()
    codes = {c["code"] for c in meta["classes"]}
    assert "0101" in codes and HIDDEN_CLASS not in codes
    assert not any(c["major"] in ("02", "03") for c in meta["classes"])
    assert meta["statuses"] == ["submitted", "accepted", "in_progress", "fixed", "closed_unfixed"]
    west, south, east, north = meta["bounds"]
    assert west < east and south < north


def test_the_page_opens_signed_out_with_its_filters(api: TestClient) -> None:
    response = api.get("/r/map", headers={"Accept": "text/html"})
    assert response.status_code == 200
    page = response.text
    assert 'id="pm"' in page and "data-meta=" in page and 'href="/r/login' in page
    assert "/static/public_map.js" in page and "/static/vendor/leaflet.js" in page
    # Signed out, the staff's base map is not asked for.
    assert "/static/basemap.js" not in page
    assert '"code":"0101"' in page.replace("&#34;", '"')
    assert f'"code":"{HIDDEN_CLASS}"' not in page.replace("&#34;", '"')
