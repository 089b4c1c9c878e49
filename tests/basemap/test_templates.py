"""The pure parts of the base map: which URL templates pass, the CSP source a template needs,
the masked key, and the demo's local base (deterministic, named, inside the towns seeded)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from fengqiao.basemap.service import check_template, key_hint, tile_origin
from fengqiao.demo.boundaries import plan_district
from fengqiao.demo.plan import SCALES
from fengqiao.demo.roads import plan_base_features


@pytest.mark.parametrize(
    "url",
    [
        "https://tiles.example.org/{z}/{x}/{y}.png",
        "http://127.0.0.1:8080/tiles/{z}/{x}/{-y}.png",
        "https://{s}.tile.example.org/{z}/{x}/{y}{r}.png",
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&style=8&x={x}&y={y}&z={z}",
    ],
)
def test_templates_that_pass(url: str) -> None:
    assert check_template(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "",
        "tiles.example.org/{z}/{x}/{y}.png",
        "javascript:alert(1)//{z}/{x}/{y}",
        "https://tiles.example.org/{z}/{y}.png",
        "https://tiles.example.org/{z}/{x}/{y}.png x",
        'https://tiles.example.org/{z}/{x}/{y}.png"',
        "https://tiles.example.org/{z}/{x}/{y}.png;img-src *",
        "https://tiles.example.{s}/{z}/{x}/{y}.png",
        "https://tiles.example.org:99999/{z}/{x}/{y}.png",
        "https://[::1/{z}/{x}/{y}.png",
        "https://瓦片.中国/{z}/{x}/{y}.png",
    ],
)
def test_templates_that_are_refused(url: str) -> None:
    why = check_template(url)
    assert why is not None and re.search("[\u4e00-\u9fff]", why), why  # said in Chinese


def test_tile_origins() -> None:
    assert (
        tile_origin("https://t{s}.tianditu.gov.cn/vec_w/wmts?x={x}") == "https://*.tianditu.gov.cn"
    )
    assert tile_origin("http://127.0.0.1:8080/{z}/{x}/{y}.png") == "http://127.0.0.1:8080"
    assert tile_origin("/tiles/{z}/{x}/{y}.png") is None
    assert tile_origin("https://tiles.example.org:99999/{z}/{x}/{y}.png") is None
    assert tile_origin("https://[::1/{z}") is None


def test_a_key_shows_only_its_last_four_characters() -> None:
    assert key_hint("0123456789abcdef") == "••••cdef"
    assert key_hint("short") == "••••"
    assert key_hint(None) is None


def test_the_demo_local_base_lies_in_the_towns_seeded_and_is_the_same_every_time() -> None:
    district = plan_district(SCALES["small"], np.random.default_rng(1), lambda *_: None)
    rows = plan_base_features(district)
    assert rows == plan_base_features(district)
    names = {row["name"] for row in rows}
    assert {"笛扬路", "柯桥大道", "万商路", "浙东运河", "鉴湖", "瓜渚湖"} <= names
    area = shapely.union_all([town.shape for town in district.children]).buffer(1e-6)
    for row in rows:
        drawn = shape(row["geometry"])
        assert area.covers(drawn), row["name"]
        assert drawn.bounds == pytest.approx(
            (row["min_lng"], row["min_lat"], row["max_lng"], row["max_lat"]), abs=1e-6
        )
