"""The public map of reports (身边事): recent events of classes residents may see, as GeoJSON
anyone can read, with nothing in it that names or places a person.

Privacy, in one place (docs/residents.md, 身边事):
- a point is snapped to the centre of a fixed ~50 m cell (`snap`), never jittered, so reading it
  again and again teaches nothing more; the box filter and the clusters work on the snapped
  points only, so narrowing a box cannot find the true point either;
- a report carries its class, its public status (events/public.py), its local date, the name of
  its village or community and a trimmed description with long digit runs (phone and ID
  numbers) masked; never the reporter, a phone, a staff name or note, the address or the event's
  code (a code would reveal the day's count); `ref` is an opaque keyed hash of the event;
- classes hidden from the public (Open311's rule: `open311_hidden_majors`) are never read.

With many reports the answer is a grid of clusters with counts (cells sized by the zoom, made
coarser until few enough), so a whole year of a district stays a few hundred kilobytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ
from fengqiao.events.models import Event
from fengqiao.events.public import PUBLIC_STATUS_KEYS_ZH, PUBLIC_STATUS_OF_STATE
from fengqiao.geo.areas import outline_features
from fengqiao.org.models import OrgUnit
from fengqiao.taxonomy.snapshot import Rules

SNAP_METRES = 50.0
METRES_PER_DEGREE = 111_320.0
LAT_STEP = SNAP_METRES / METRES_PER_DEGREE

DEFAULT_DAYS = 90
MAX_DAYS = 366
MAX_BBOX_DEGREES = 2.0  # a side of the box: a district is about half a degree across
MAX_CODES = 20  # classes or statuses named in one filter
# Individual reports when there are at most FEW of them, or when zoomed in to POINT_ZOOM and at
# most MAX_POINTS; else clusters of CELL_PX-pixel cells, at most MAX_CELLS of them.
FEW = 200
POINT_ZOOM = 16
MAX_POINTS = 1500
CELL_PX = 64
MAX_CELLS = 1500
DEFAULT_ZOOM = 13
TEXT_CHARS = 60
# Seven or more digits in a row (spaces and dashes allowed between them): a phone or ID number.
_DIGIT_RUN = re.compile(r"\d(?:[\s\-]?\d){6,}[Xx]?")
MASK = "＊＊＊"

STATUS_KEYS: tuple[str, ...] = tuple(PUBLIC_STATUS_KEYS_ZH)
STATES_OF_PUBLIC: dict[str, tuple[str, ...]] = {
    key: tuple(state for state, public in PUBLIC_STATUS_OF_STATE.items() if public == key)
    for key in PUBLIC_STATUS_KEYS_ZH
}


@dataclass(frozen=True)
class MapQuery:
    """What the caller asked for, checked (views.py parses the query string into it)."""

    days: int = DEFAULT_DAYS
    categories: tuple[str, ...] = ()  # minor or major class codes; empty: every visible class
    statuses: tuple[str, ...] = ()  # public status keys; empty: every status
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north
    zoom: int = DEFAULT_ZOOM

    def key(self) -> tuple[Any, ...]:
        return ("public-reports", self.days, self.categories, self.statuses, self.bbox, self.zoom)


def snap(lat: float, lng: float) -> tuple[float, float]:
    """The centre of the ~50 m cell holding the point: rows of LAT_STEP degrees, and in each row
    columns as wide as 50 m are at the row's centre. The same point always gives the same cell."""
    lats, lngs = snap_many(np.array([lat]), np.array([lng]))
    return float(lats[0]), float(lngs[0])


def snap_many(lats: Any, lngs: Any) -> tuple[Any, Any]:
    """`snap` of arrays of points at once (a year of a district is 100,000 points)."""
    centre_lat = (np.floor(lats / LAT_STEP) + 0.5) * LAT_STEP
    lng_step = LAT_STEP / np.maximum(np.cos(np.radians(centre_lat)), 0.01)
    centre_lng = (np.floor(lngs / lng_step) + 0.5) * lng_step
    return np.round(centre_lat, 6), np.round(centre_lng, 6)


def public_text(description: str, title: str = "", *, names: Iterable[str] = ()) -> str:
    """A short description a stranger may read: long digit runs (phone and ID numbers) and the
    reporter's own name masked, spaces folded, trimmed to TEXT_CHARS characters. Text, never
    markup: the page puts it into a text node."""
    text = " ".join((description or title or "").split())
    text = _DIGIT_RUN.sub(MASK, text)
    for name in names:
        if name and len(name.strip()) >= 2:
            text = text.replace(name.strip(), MASK)
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"


def ref_key(signing_key: str) -> str:
    """The key of `public_ref`, derived from the app's signing key (`app.state.signing_key`)."""
    return hashlib.blake2b(signing_key.encode(), person=b"fq-public-ref").hexdigest()


def public_ref(event_id: int, key: str) -> str:
    """An opaque, stable reference of an event for the public (the code would tell how many
    events a town had that day)."""
    digest = hashlib.blake2b(str(event_id).encode(), key=key.encode()[:64], digest_size=8)
    return digest.hexdigest()


def visible_classes(rules: Rules, hidden: Collection[str]) -> list[dict[str, str]]:
    """The active classes a resident may see and filter by, grouped by major class."""
    return [
        {"code": code, "name": c.name_zh, "major": c.major_code, "major_name": c.major_name}
        for code, c in sorted(rules.categories.items())
        if c.active and code not in hidden
    ]


MAX_TOWN_OUTLINES = 300


def town_outlines(db: Session, max_towns: int = MAX_TOWN_OUTLINES) -> dict[str, Any]:
    """The towns' outlines and names, simplified to ~80 m: the ground the public map draws its
    reports on when no base map is shown (public administrative boundaries, a few kilobytes). A
    town imported without geometry gets the union of its grids (geo/areas.py). A city's or
    province's deployment (more than `max_towns` towns) gets its districts' outlines instead: a
    province's 1,360 towns would be megabytes."""
    towns = db.scalar(
        select(func.count()).where(OrgUnit.kind == "town", OrgUnit.valid_to.is_(None))
    )
    kind = "district" if (towns or 0) > max_towns else "town"
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": f["properties"]["name"]},
             "geometry": f["geometry"]}
            for f in outline_features(db, "/", kind)["features"]
        ],
    }  # fmt: skip


def _codes_of(rules: Rules, wanted: Iterable[str], hidden: Collection[str]) -> list[str]:
    """Minor class codes meant by `wanted` (minor or major codes), hidden ones left out; a code
    that is neither matches nothing (a hidden class reads exactly like an unknown one)."""
    named = set(wanted)
    return sorted(
        code for code, c in rules.categories.items()
        if (code in named or c.major_code in named) and code not in hidden
    )  # fmt: skip


@dataclass
class _Read:
    """The matching reports as columns: ids, snapped points, public status (index into
    STATUS_KEYS)."""

    ids: Any = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    lats: Any = field(default_factory=lambda: np.zeros(0))
    lngs: Any = field(default_factory=lambda: np.zeros(0))
    statuses: Any = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def points(self) -> list[tuple[float, float]]:
        return list(zip(self.lats.tolist(), self.lngs.tolist(), strict=True))


def _read(
    db: Session, rules: Rules, query: MapQuery, hidden: Collection[str], now: datetime
) -> _Read:
    since = now - timedelta(days=query.days)
    statement = select(Event.id, Event.lat, Event.lng, Event.status).where(
        Event.created_at >= since, Event.created_at <= now
    )
    if query.categories:
        statement = statement.where(
            Event.category_code.in_(_codes_of(rules, query.categories, hidden))
        )
    elif hidden:
        # `+ ''`: a filter on rows read by date, not a reason to drive from the class index.
        statement = statement.where((Event.category_code + "").not_in(sorted(hidden)))
    if query.statuses:
        states = sorted({s for key in query.statuses for s in STATES_OF_PUBLIC[key]})
        statement = statement.where((Event.status + "").in_(states))
    if query.bbox is not None:
        # One cell of margin: the box is judged on the snapped points below.
        west, south, east, north = query.bbox
        pad = LAT_STEP * 3
        statement = statement.where(
            Event.lat.between(south - pad, north + pad), Event.lng.between(west - pad, east + pad)
        )
    # A year of a district is 100,000 rows of four plain columns (no result processing): read
    # from the driver's cursor, which halves the time SQLAlchemy's rows take.
    result = db.connection().execute(statement)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    read = _Read()
    if not rows:
        return read
    ids, lats, lngs, states = (list(column) for column in zip(*rows, strict=True))
    snapped_lats, snapped_lngs = snap_many(np.array(lats), np.array(lngs))
    status_index = {state: STATUS_KEYS.index(key) for state, key in PUBLIC_STATUS_OF_STATE.items()}
    statuses = np.array([status_index.get(state, 0) for state in states], dtype=np.int64)
    ids_array = np.array(ids, dtype=np.int64)
    if query.bbox is not None:
        west, south, east, north = query.bbox
        keep = (
            (snapped_lats >= south) & (snapped_lats <= north)
            & (snapped_lngs >= west) & (snapped_lngs <= east)
        )  # fmt: skip
        ids_array, snapped_lats, snapped_lngs, statuses = (
            ids_array[keep], snapped_lats[keep], snapped_lngs[keep], statuses[keep]
        )  # fmt: skip
    return _Read(ids_array, snapped_lats, snapped_lngs, statuses)


def _cell_degrees(zoom: int) -> float:
    return CELL_PX * 360.0 / (256 * 2**zoom)


def _clusters(read: _Read, zoom: int) -> tuple[Any, Any]:
    """Each report's cell (an index from 0) and the number of cells: cells of CELL_PX pixels at
    `zoom`, doubled until at most MAX_CELLS cells hold reports."""
    size = _cell_degrees(zoom)
    while True:
        rows = np.floor(read.lats / size).astype(np.int64)
        columns = np.floor(read.lngs / size).astype(np.int64)
        keys = rows * (1 << 32) + columns
        cells, inverse = np.unique(keys, return_inverse=True)
        if len(cells) <= MAX_CELLS:
            return inverse.reshape(-1), len(cells)
        size *= 2


def _details(db: Session, ids: list[int], ref_key: str) -> dict[int, dict[str, Any]]:
    """The public properties of the reports shown one by one."""
    out: dict[int, dict[str, Any]] = {}
    villages: dict[int, str] = {}
    rows: list[Any] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows += db.execute(
            select(
                Event.id, Event.category_code, Event.category_name, Event.created_at,
                Event.description, Event.title, Event.village_id, User.name.label("reporter"),
            )
            .join(User, User.id == Event.reporter_id)
            .where(Event.id.in_(chunk))
        ).all()  # fmt: skip
    wanted = sorted({r.village_id for r in rows})
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        villages.update(
            (row.id, row.name)
            for row in db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(chunk)))
        )
    for r in rows:
        out[r.id] = {
            "ref": public_ref(r.id, ref_key),
            "category": r.category_code,
            "category_name": r.category_name,
            "date": _local_date(r.created_at),
            "text": public_text(r.description, r.title, names=(r.reporter,)),
            "place": villages.get(r.village_id, ""),
        }
    return out


def _local_date(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite returns naive UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(LOCAL_TZ).date().isoformat()


def public_reports(
    db: Session,
    rules: Rules,
    query: MapQuery,
    *,
    hidden: Collection[str],
    now: datetime,
    ref_key: str,
) -> dict[str, Any]:
    """The GeoJSON FeatureCollection of the public map: report points, or clusters with counts
    (`cluster: true`, `count`, counts by public status) when there are many."""
    read = _read(db, rules, query, hidden, now)
    total = len(read.ids)
    points_wanted = total <= FEW or (query.zoom >= POINT_ZOOM and total <= MAX_POINTS)
    features: list[dict[str, Any]] = []
    clustered = False
    if points_wanted:
        singles = np.arange(total)
    else:
        cell_of, cells = _clusters(read, query.zoom)
        counts = np.bincount(cell_of, minlength=cells)
        alone = counts[cell_of] == 1
        singles = np.flatnonzero(alone)
        grouped = ~alone
        clustered = bool(grouped.any())
        lat_sum = np.bincount(cell_of, weights=read.lats, minlength=cells)
        lng_sum = np.bincount(cell_of, weights=read.lngs, minlength=cells)
        by_status = [
            np.bincount(cell_of[read.statuses == k], minlength=cells).tolist()
            for k in range(len(STATUS_KEYS))
        ]
        for cell in np.flatnonzero(counts > 1).tolist():
            count = int(counts[cell])
            statuses = {
                key: by_status[k][cell] for k, key in enumerate(STATUS_KEYS) if by_status[k][cell]
            }
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "Point",
                        "coordinates": [
                            round(float(lng_sum[cell]) / count, 5),
                            round(float(lat_sum[cell]) / count, 5),
                        ],
                    },
                    "properties": {"cluster": True, "count": count, "statuses": statuses},
                }
            )
    chosen = sorted(singles.tolist(), key=lambda i: -int(read.ids[i]))
    details = _details(db, [int(read.ids[i]) for i in chosen], ref_key)
    lats, lngs = read.lats.tolist(), read.lngs.tolist()
    points = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lngs[i], lats[i]]},
            "properties": {
                "status": STATUS_KEYS[int(read.statuses[i])],
                **details[int(read.ids[i])],
            },
        }
        for i in chosen
    ]
    features = points + features
    return {
        "type": "FeatureCollection",
        "total": total,
        "clustered": clustered,
        "days": query.days,
        "features": features,
    }
