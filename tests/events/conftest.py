"""Fixtures of the event center: an app on a stopped clock, the demo people, and helpers that
file events and take steps through the API as those people would."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from PIL import Image
from PIL.TiffImagePlugin import IFDRational
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.events.filing import route
from fengqiao.org.models import OrgUnit
from fengqiao.taxonomy.snapshot import load_rules

# A Tuesday morning in an ordinary working week.
START = datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def api(bound: Any, seeded: Any, clock: FixedClock, tmp_path: Any) -> Iterator[TestClient]:
    """The app over the rolled-back test transaction, on the fixed clock, photos in tmp."""
    settings = seeded.settings.model_copy(update={"data_dir": tmp_path, "rules_check_seconds": 0})
    app = create_app(settings, database=bound, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


@dataclass
class World:
    """Who and where, in the seeded small district."""

    ids: dict[str, int]
    grid_point: tuple[float, float]  # (lat, lng) inside demo_grid_worker's grid
    other_grid_point: tuple[float, float]  # in another village of the same town
    handler_category: str  # a level-2 class that routes to demo_handler's unit
    handler_unit: int
    other_category: str  # a class that routes elsewhere


def _inside(db: Session, grid_id: int) -> tuple[float, float]:
    geometry = db.scalar(select(OrgUnit.geometry).where(OrgUnit.id == grid_id))
    point = shapely.from_geojson(__import__("json").dumps(geometry)).representative_point()
    return point.y, point.x


@pytest.fixture
def world(db: Session) -> World:
    return make_world(db)


def make_world(db: Session) -> World:
    """The demo people, a point in demo_grid_worker's grid and classes routed to demo_handler."""
    users = {u.username: u for u in db.scalars(select(User).where(User.username.like("demo_%")))}
    users["admin"] = db.scalars(select(User).where(User.username == "admin")).one()
    worker = users["demo_grid_worker"]
    grid = db.get(OrgUnit, worker.home_org_id)
    assert grid is not None and grid.kind == "grid"
    other = db.scalars(
        select(OrgUnit)
        .where(OrgUnit.kind == "grid", OrgUnit.parent_id != grid.parent_id)
        .order_by(OrgUnit.code)
    ).first()
    assert other is not None
    rules = load_rules(db)
    handler_unit = users["demo_handler"].unit_id
    assert handler_unit is not None
    mine = others = None
    town_id = int(grid.path.strip("/").split("/")[1])
    for code, category in sorted(rules.categories.items()):
        level = max(category.default_level, 2)
        proposal = route(
            rules, category_code=code, level=level, place_ids=(grid.parent_id or 0, town_id)
        )
        if proposal.unit_id == handler_unit and category.default_level == 2 and mine is None:
            mine = code
        elif proposal.unit_id not in (None, handler_unit) and others is None:
            others = code
    assert mine is not None and others is not None
    return World(
        ids={name: u.id for name, u in users.items()},
        grid_point=_inside(db, grid.id),
        other_grid_point=_inside(db, other.id),
        handler_category=mine,
        handler_unit=handler_unit,
        other_category=others,
    )


def jpeg(
    color: str = "red",
    size: tuple[int, int] = (64, 48),
    *,
    taken_at: datetime | None = None,
    lat: float | None = None,
    lng: float | None = None,
) -> bytes:
    """A JPEG; with `taken_at` and/or a position, EXIF as a phone's camera writes it
    (DateTimeOriginal in local time with OffsetTimeOriginal, GPS in degrees/minutes/seconds)."""
    buffer = io.BytesIO()
    options: dict[str, Any] = {}
    if taken_at is not None or lat is not None:
        exif = Image.Exif()
        exif[0x0110] = "Grid phone"  # Model, so IFD0 is never empty
        if taken_at is not None:
            local = taken_at.astimezone(LOCAL_TZ)
            exif.get_ifd(0x8769)[0x9003] = local.strftime("%Y:%m:%d %H:%M:%S")
            exif.get_ifd(0x8769)[0x9011] = "+08:00"
        if lat is not None and lng is not None:
            gps = exif.get_ifd(0x8825)
            gps[1], gps[2] = ("N" if lat >= 0 else "S"), _dms(abs(lat))
            gps[3], gps[4] = ("E" if lng >= 0 else "W"), _dms(abs(lng))
        options["exif"] = exif
    Image.new("RGB", size, color).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def _dms(degrees: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    whole = int(degrees)
    minutes = int((degrees - whole) * 60)
    seconds = ((degrees - whole) * 60 - minutes) * 60
    return IFDRational(whole, 1), IFDRational(minutes, 1), IFDRational(round(seconds * 1e4), 10000)


Auth = Callable[[str], dict[str, str]]


class Desk:
    """Files events and takes steps through the API, as the named demo users."""

    def __init__(self, api: TestClient, auth: Auth, world: World) -> None:
        self.api, self.auth, self.world = api, auth, world

    def file(
        self, user: str = "demo_grid_worker", *, expect: int = 201, **fields: Any
    ) -> dict[str, Any]:
        lat, lng = self.world.grid_point
        body: dict[str, Any] = {
            "source": "grid_worker", "category": self.world.handler_category,
            "description": "人行道上有人占道经营", "lat": lat, "lng": lng, "address": "柯桥街道某路",
        }  # fmt: skip
        body.update(fields)
        headers = dict(self.auth(user))
        key = body.pop("idempotency_key", None)
        if key:
            headers["Idempotency-Key"] = key
        response = self.api.post("/api/v1/events", json=body, headers=headers)
        assert response.status_code == expect, response.text
        return dict(response.json())

    def get(self, event: dict[str, Any], user: str = "demo_operator") -> dict[str, Any]:
        response = self.api.get(f"/api/v1/events/{event['id']}", headers=self.auth(user))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def act(
        self, event: dict[str, Any], user: str, action: str, *, expect: int = 200, **fields: Any
    ) -> dict[str, Any]:
        body = {"action": action, "version": fields.pop("version", event["version"]), **fields}
        response = self.api.post(
            f"/api/v1/events/{event['id']}/transitions", json=body, headers=self.auth(user)
        )
        assert response.status_code == expect, response.text
        return dict(response.json())

    def photo(
        self,
        event: dict[str, Any],
        user: str,
        kind: str | None = "after",
        *,
        data: bytes | None = None,
        form: dict[str, Any] | None = None,
        expect: int = 201,
    ) -> int:
        """Upload one photo (the upload contract's `form` fields as given); its id."""
        response = self.upload(event, user, kind, data=data, form=form)
        assert response.status_code == expect, response.text
        return int(response.json()[0]["id"]) if expect == 201 else 0

    def upload(
        self,
        event: dict[str, Any],
        user: str,
        kind: str | None = "after",
        *,
        data: bytes | None = None,
        form: dict[str, Any] | None = None,
        count: int = 1,
    ) -> Any:
        return self.api.post(
            f"/api/v1/events/{event['id']}/attachments",
            params={"kind": kind} if kind else {},
            files=[("photos", (f"p{i}.jpg", data or jpeg("green"), "image/jpeg"))
                   for i in range(count)],
            data=form or {},
            headers=self.auth(user),
        )  # fmt: skip

    def on_site(self, event: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """The upload contract's fields of a phone standing at the event now (GPS at ±10 m)."""
        now = self.api.app.state.clock.now()  # type: ignore[attr-defined]
        return {
            "origin": "camera", "device_lat": str(event["lat"]), "device_lng": str(event["lng"]),
            "device_accuracy": "10", "device_at": now.astimezone(LOCAL_TZ).isoformat(), **fields,
        }  # fmt: skip

    def verify_ok(
        self, event: dict[str, Any], user: str = "demo_grid_worker", **fields: Any
    ) -> dict[str, Any]:
        """核查通过 as the phone does it: an on-site photo taken now at the event, then the step
        with the photo and the confirmation."""
        photo = self.photo(event, user, "verify", form=self.on_site(event))
        return self.act(
            event, user, "verify", ok=True, confirmed=True, attachment_ids=[photo], **fields
        )

    def to_handled(self, event: dict[str, Any]) -> dict[str, Any]:
        """Accept, dispatch to the proposed unit, sign, and feed back with a photo."""
        event = self.act(event, "demo_operator", "accept")
        event = self.act(event, "demo_operator", "dispatch")
        event = self.act(event, "demo_handler", "sign")
        photo = self.photo(event, "demo_handler")
        return self.act(
            event, "demo_handler", "feedback", result="已清理占道摊位", attachment_ids=[photo]
        )


@pytest.fixture
def desk(api: TestClient, auth: Auth, world: World) -> Desk:
    return Desk(api, auth, world)
