"""A worker's day as a track: totals, lines, scope, and the GPX and GeoJSON files."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import gpxpy
import pytest
import shapely
from fastapi.testclient import TestClient

from fengqiao.clock import FixedClock
from tests.patrol.conftest import START, People, Phone, path_length, walk

PhoneFor = Callable[[str], Phone]
DAY = "2026-06-02"


def two_patrols(phone: PhoneFor, people: People, clock: FixedClock) -> dict[str, Any]:
    """The demo worker walks twice this morning; the second walk has a 10-minute gap."""
    worker = phone("demo_grid_worker")
    lat, lng = people.inside()
    first = walk(lat, lng, START + timedelta(seconds=30), 12)
    second_a = walk(lat, lng, START + timedelta(hours=1, seconds=30), 6)
    second_b = walk(lat + 0.001, lng, START + timedelta(hours=1, minutes=15), 6)
    clock.set(START)
    one = worker.start()
    clock.set(START + timedelta(minutes=10))
    worker.send(first)
    worker.stop()
    clock.set(START + timedelta(hours=1))
    two = worker.start()
    clock.set(START + timedelta(hours=1, minutes=20))
    worker.send(second_a + second_b)
    worker.stop()
    return {"ids": [one["id"], two["id"]], "pieces": [first, second_a, second_b]}


def test_the_day_as_a_track(
    phone: PhoneFor, people: People, clock: FixedClock, api: TestClient, auth: Any
) -> None:
    walked = two_patrols(phone, people, clock)
    first, second_a, second_b = walked["pieces"]
    user_id = people.ids["demo_grid_worker"]
    track = api.get(f"/api/v1/tracks/{user_id}/{DAY}", headers=auth("demo_operator")).json()
    assert track["user"] == {"id": user_id, "name": people.names["demo_grid_worker"]}
    assert track["date"] == DAY and track["points"] == 24
    assert [p["id"] for p in track["patrols"]] == walked["ids"]
    assert track["duration_s"] == 10 * 60 + 20 * 60  # the two patrols, start to stop
    # The 10-minute gap in the second patrol breaks the line and is not counted.
    expected = path_length(first) + path_length(second_a) + path_length(second_b)
    assert track["distance_m"] == pytest.approx(expected, abs=1.0)
    assert [g["code"] for g in track["grids"]] == [people.grid.code]
    geometry = track["geometry"]
    assert geometry["type"] == "MultiLineString"
    assert geometry["coordinates"] == [
        [[round(p["lng"], 6), round(p["lat"], 6)] for p in piece] for piece in walked["pieces"]
    ]  # lines are drawn to 6 decimals (0.1 m)
    assert shapely.from_geojson(json.dumps(geometry)).is_valid


def test_a_day_without_patrols_lasts_from_first_to_last_point(
    phone: PhoneFor, people: People, clock: FixedClock, api: TestClient, auth: Any
) -> None:
    clock.set(START + timedelta(minutes=10))
    phone("demo_grid_worker").send(walk(*people.inside(), START, 5))
    user_id = people.ids["demo_grid_worker"]
    track = api.get(f"/api/v1/tracks/{user_id}/{DAY}", headers=auth("demo_grid_worker")).json()
    assert track["patrols"] == [] and track["duration_s"] == 4 * 30 and track["points"] == 5


def test_the_day_is_a_local_day(
    phone: PhoneFor, people: People, clock: FixedClock, api: TestClient, auth: Any
) -> None:
    # 23:50 and 00:10 local on either side of midnight (15:50 and 16:10 UTC).
    late = datetime(2026, 6, 2, 15, 50, tzinfo=UTC)
    clock.set(late + timedelta(minutes=25))
    worker = phone("demo_grid_worker")
    worker.send(
        walk(*people.inside(), late, 2) + walk(*people.inside(), late + timedelta(minutes=20), 2)
    )
    user_id = people.ids["demo_grid_worker"]
    for day, count in (("2026-06-02", 2), ("2026-06-03", 2), ("2026-06-04", 0)):
        track = api.get(f"/api/v1/tracks/{user_id}/{day}", headers=auth("demo_grid_worker"))
        assert track.json()["points"] == count, day


def test_tracks_are_read_only_within_scope(
    phone: PhoneFor, people: People, clock: FixedClock, api: TestClient, auth: Any
) -> None:
    two_patrols(phone, people, clock)
    user_id = people.ids["demo_grid_worker"]
    url = f"/api/v1/tracks/{user_id}/{DAY}"
    for reader in (
        "demo_grid_worker",
        "demo_grid_leader",
        "demo_operator",
        "demo_district_operator",
        "demo_leader",
    ):
        assert api.get(url, headers=auth(reader)).status_code == 200, reader
    # Another grid's worker, and a resident: as if the worker did not exist.
    other = api.get(url, headers=auth(people.other_worker))
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["title_zh"]
    for suffix in ("", ".gpx", ".geojson"):
        assert api.get(url + suffix, headers=auth(people.other_worker)).status_code == 404
    assert api.get(url, headers=auth("demo_resident")).status_code == 403


def test_gpx_holds_every_point_with_its_time(
    phone: PhoneFor, people: People, clock: FixedClock, api: TestClient, auth: Any
) -> None:
    walked = two_patrols(phone, people, clock)
    user_id = people.ids["demo_grid_worker"]
    response = api.get(f"/api/v1/tracks/{user_id}/{DAY}.gpx", headers=auth("demo_operator"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/gpx+xml")
    assert f'filename="track-{user_id}-{DAY}.gpx"' in response.headers["content-disposition"]
    document = gpxpy.parse(response.text)
    assert document.version == "1.1"
    assert len(document.tracks) == 2  # one per patrol
    assert [len(t.segments) for t in document.tracks] == [1, 2]  # the gap splits the second
    parsed = [
        (round(p.latitude, 7), round(p.longitude, 7), p.time)
        for t in document.tracks
        for s in t.segments
        for p in s.points
    ]
    sent = [
        (p["lat"], p["lng"], datetime.fromisoformat(p["at"]))
        for piece in walked["pieces"]
        for p in piece
    ]
    assert parsed == sent


def test_geojson_file_has_a_feature_per_patrol(
    phone: PhoneFor, people: People, clock: FixedClock, api: TestClient, auth: Any
) -> None:
    walked = two_patrols(phone, people, clock)
    user_id = people.ids["demo_grid_worker"]
    response = api.get(
        f"/api/v1/tracks/{user_id}/{DAY}.geojson",
        headers={**auth("demo_grid_worker"), "Accept-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert f'filename="track-{user_id}-{DAY}.geojson"' in response.headers["content-disposition"]
    collection = response.json()  # the client undid the gzip
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert [f["properties"]["patrol_id"] for f in features] == walked["ids"]
    assert [f["properties"]["points"] for f in features] == [12, 12]
    for feature in features:
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "MultiLineString"
        assert shapely.from_geojson(json.dumps(feature["geometry"])).is_valid
    assert len(features[1]["geometry"]["coordinates"]) == 2


def test_the_map_layer_has_one_simplified_track_per_worker(
    phone: PhoneFor, people: People, clock: FixedClock, api: TestClient, auth: Any
) -> None:
    clock.set(START + timedelta(minutes=30))
    slow = walk(*people.inside(), START, 40, step_m=4.0, every_s=15)  # 4 m apart: simplified
    phone("demo_grid_worker").send(slow)
    phone(people.other_worker).send(walk(*people.inside(people.other_grid), START, 5))
    town = api.get("/api/v1/tracks/geojson", params={"date": DAY}, headers=auth("demo_operator"))
    assert town.headers["content-type"] == "application/geo+json"
    features = {f["properties"]["user_id"]: f for f in town.json()["features"]}
    assert set(features) == {people.ids["demo_grid_worker"], people.ids[people.other_worker]}
    mine = features[people.ids["demo_grid_worker"]]
    assert mine["properties"]["name"] == people.names["demo_grid_worker"]
    assert mine["properties"]["distance_m"] == pytest.approx(path_length(slow), abs=0.5)
    assert mine["properties"]["duration_s"] == 39 * 15
    (line,) = mine["geometry"]["coordinates"]
    assert 12 <= len(line) <= 16  # 156 m in steps of at least 10 m, not 40 points
    assert line[0] == [round(slow[0]["lng"], 6), round(slow[0]["lat"], 6)]
    assert line[-1] == [round(slow[-1]["lng"], 6), round(slow[-1]["lat"], 6)]
    # Scope: the grid leader sees their grid's worker only; a worker only themselves.
    leader = api.get(
        "/api/v1/tracks/geojson", params={"date": DAY}, headers=auth("demo_grid_leader")
    )
    assert [f["properties"]["user_id"] for f in leader.json()["features"]] == [
        people.ids["demo_grid_worker"]
    ]
    other = api.get(
        "/api/v1/tracks/geojson", params={"date": DAY}, headers=auth(people.other_worker)
    )
    assert [f["properties"]["user_id"] for f in other.json()["features"]] == [
        people.ids[people.other_worker]
    ]
    # The default day is today on the clock.
    today = api.get("/api/v1/tracks/geojson", headers=auth("demo_operator")).json()
    assert len(today["features"]) == 2
