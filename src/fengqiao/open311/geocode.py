"""Placing an Open311 request sent with an address and no point: `address_id` is the code of a
place (a point of interest) or of a town, village or grid; `address_string` is looked up with
the one search box's own functions (search.service: places, the addresses of events the key's
account may read, areas), the whole text first, then its longest words. The first point found
inside a grid wins; none is a 400 that says what was tried.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.errors import Problem
from fengqiao.geo.models import LayerFeature
from fengqiao.geo.service import GridLocator, Place
from fengqiao.open311.parsing import Open311Error, Submission, refuse
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal
from fengqiao.search import service as search

# Words an address is cut into when the whole text finds nothing (spaces and punctuation).
_SPLIT = re.compile(r"[\s,，、;；:：()（）#号]+")
MAX_TRIES = 4


@dataclass(frozen=True)
class Located:
    """Where a request is: the place (grid, village, town) and how it was found."""

    place: Place
    located_by: str  # lat_long | address_id | address_string


def _queries(text: str) -> Iterator[str]:
    """The whole address (without spaces), then its words of two characters or more, longest
    first: "柯桥街道笛扬路 88 号" tries "柯桥街道笛扬路88号", then "柯桥街道笛扬路"."""
    whole = re.sub(r"\s+", "", text)[: search.MAX_QUERY_CHARS]
    seen = {whole}
    yield whole
    words = sorted({w for w in _SPLIT.split(text) if len(w) >= 2}, key=len, reverse=True)
    for word in words[: MAX_TRIES - 1]:
        word = word[: search.MAX_QUERY_CHARS]
        if word not in seen:
            seen.add(word)
            yield word


def _by_address_id(db: Session, address_id: str) -> list[tuple[float, float]]:
    """A place's or an area's code: its point, or the middle of the area's box."""
    points: list[tuple[float, float]] = [
        (lat, lng)
        for lat, lng in db.execute(
            select(LayerFeature.lat, LayerFeature.lng)
            .where(LayerFeature.code == address_id, LayerFeature.kind.not_in(search.NOT_PLACES))
            .limit(1)
        ).all()
    ]
    area = db.execute(
        select(OrgUnit.min_lat, OrgUnit.min_lng, OrgUnit.max_lat, OrgUnit.max_lng).where(
            OrgUnit.code == address_id, OrgUnit.valid_to.is_(None)
        )
    ).first()
    if area is not None:
        south, west, north, east = area
        if south is not None and west is not None and north is not None and east is not None:
            points.append(((south + north) / 2, (west + east) / 2))
    return points


def _by_address_string(
    db: Session, text: str, principal: Principal
) -> Iterator[tuple[float, float]]:
    postgres = db.get_bind().dialect.name == "postgresql"
    finders: list[Callable[[search.Query], list[search.Found]]] = [
        lambda q: search.places(db, q, 1),
        lambda q: search.events(db, q, 1, principal),
        # Towns, villages and grids only: a city's or district's centre is no address.
        lambda q: search.areas(db, q, 1, kinds=("town", "village", "grid")),
    ]
    for words in _queries(text):
        try:
            query = search.parse(words, postgres=postgres)
        except Problem:
            continue
        for find in finders:
            for found in find(query):
                if found.lat is not None and found.lng is not None:
                    yield found.lat, found.lng


def _inside(locator: GridLocator, lat: float, lng: float) -> Place | None:
    try:
        return locator.locate(lng, lat)
    except Problem:
        return None


def unplaced(submission: Submission) -> Open311Error:
    given = submission.get("address_id") or submission.get("address_string") or ""
    return refuse(
        400, "unplaced_address",
        f"cannot place {given[:80]!r} in the district: no place, area or earlier report matches "
        "it; send lat and long",
        f"无法在辖区内定位地址“{given[:80]}”：没有匹配的地点、区域或已有上报地址，请提供经纬度 lat 和 long",
    )  # fmt: skip


def locate(
    *, db: Session, locator: GridLocator, submission: Submission, principal: Principal
) -> Located:
    """The place of a submission: its point; else its address_id; else its address_string."""
    if submission.lat is not None and submission.lng is not None:
        return Located(locator.locate(submission.lng, submission.lat), "lat_long")
    address_id = submission.get("address_id")
    if address_id:
        for lat, lng in _by_address_id(db, address_id):
            place = _inside(locator, lat, lng)
            if place is not None:
                return Located(place, "address_id")
    text = submission.get("address_string")
    if text:
        for lat, lng in _by_address_string(db, text, principal):
            place = _inside(locator, lat, lng)
            if place is not None:
                return Located(place, "address_string")
    raise unplaced(submission)
