"""The shipped taxonomy and routing rules (`categories.json`, `routing_rules.json`) are coherent.

The expected class names are DESIGN.md section 6, hard-coded here on purpose: a change to the
shipped taxonomy has to be made in both places.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

import pytest

from fengqiao.demo import keqiao as kq

# DESIGN.md section 6: (major, platform, minors), in order.
EXPECTED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "矛盾纠纷",
        "governance",
        ("邻里纠纷", "婚姻家庭纠纷", "劳资纠纷", "土地山林纠纷", "债务经济纠纷"),
    ),
    ("社会治安", "governance", ("治安隐患", "可疑情况", "黄赌毒线索", "特殊人群动态")),
    ("信访维稳", "governance", ("群体性事件苗头", "信访诉求", "涉稳重点人员动态")),
    (
        "安全生产与消防",
        "market",
        (
            "企业安全隐患",
            "危险化学品",
            "建筑施工安全",
            "燃气及用火安全（含蜂窝煤炉）",
            "消防通道堵塞",
            "出租房屋消防隐患",
            "电动自行车违规充电",
        ),
    ),
    ("食品药品", "market", ("无证小餐饮", "食品安全隐患", "药品医疗器械")),
    ("市场秩序", "market", ("无照经营", "假冒伪劣", "价格违法")),
    ("市容秩序", "enforcement", ("占道经营", "流动摊贩", "乱堆乱放", "违规广告", "僵尸车及违停")),
    ("违建国土", "enforcement", ("违法建筑", "违法用地", "渣土泥浆")),
    (
        "生态环境",
        "enforcement",
        ("河道水体污染", "环境卫生", "大气油烟污染", "噪声扰民", "工业污染排放"),
    ),
    ("便民服务", "service", ("社保事项代办", "民政救助", "设施报修", "政策咨询")),
)
PLATFORMS = {"governance", "market", "enforcement", "service"}
LEVELS = (1, 2, 3, 4)
# The unit_type the demo seed gives every village/community committee (fengqiao.demo.seed).
VILLAGE_COMMITTEE_TYPE = "village_committee"
DISTRICT_TYPES = {k.unit_type for k in kq.DISTRICT_DEPARTMENTS}
COORDINATION_TYPES = {k.unit_type for k in kq.COORDINATION_GROUPS}
UNIT_TYPES = (
    {k.unit_type for k in (*kq.AGENCIES, *kq.TOWN_OFFICES)}
    | COORDINATION_TYPES
    | DISTRICT_TYPES
    | {VILLAGE_COMMITTEE_TYPE}
)
MAJOR_KEYS = {"code", "name_zh", "name_en", "platform"}
CATEGORY_KEYS = {
    "code",
    "major_code",
    "name_zh",
    "name_en",
    "platform",
    "default_unit_type",
    "default_level",
    "filing_condition",
    "closing_condition",
    "national_code",
}
RULE_KEYS = {
    "position",
    "category_code",
    "major_code",
    "town_code",
    "level",
    "unit_type",
    "note_zh",
}
MATCH_KEYS = ("category_code", "major_code", "town_code", "level")
CJK = re.compile(r"[\u4e00-\u9fff]")
ANY_TOWN = "330603001"


@cache
def _load(name: str) -> dict[str, Any]:
    text = resources.files("fengqiao.taxonomy").joinpath(name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _categories() -> dict[str, Any]:
    return _load("categories.json")


def _rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = _load("routing_rules.json")["rules"]
    return rules


def _chinese(text: Any) -> bool:
    return isinstance(text, str) and bool(text.strip()) and CJK.search(text) is not None


def _first_match(category: dict[str, Any], level: int) -> dict[str, Any] | None:
    """The first rule by position that matches the class at `level` (None in a rule: any)."""
    event = {
        "category_code": category["code"],
        "major_code": category["major_code"],
        "town_code": ANY_TOWN,
        "level": level,
    }
    for rule in sorted(_rules(), key=lambda r: r["position"]):
        if all(rule[key] is None or rule[key] == event[key] for key in MATCH_KEYS):
            return rule
    return None


def test_versions_and_shapes() -> None:
    assert _categories()["version"] == 1
    assert _load("routing_rules.json")["version"] == 1
    assert set(_categories()) == {"version", "majors", "categories"}
    assert set(_load("routing_rules.json")) == {"version", "rules"}
    for major in _categories()["majors"]:
        assert set(major) == MAJOR_KEYS, major
    for category in _categories()["categories"]:
        assert set(category) == CATEGORY_KEYS, category
    for rule in _rules():
        # 联合执法: a rule may name the unit types that assist its lead (issue 20).
        assert set(rule) - {"assist_unit_types"} == RULE_KEYS, rule
        assists = rule.get("assist_unit_types", [])
        assert all(isinstance(t, str) and t != rule["unit_type"] for t in assists), rule


def test_majors_are_design_section_6() -> None:
    majors = _categories()["majors"]
    assert len(majors) == 10
    assert [m["name_zh"] for m in majors] == [name for name, _, _ in EXPECTED]
    assert [m["platform"] for m in majors] == [platform for _, platform, _ in EXPECTED]
    assert [m["code"] for m in majors] == [f"{i:02d}" for i in range(1, 11)]
    assert all(m["name_en"].strip() for m in majors)


def test_minors_are_design_section_6() -> None:
    categories = _categories()["categories"]
    assert len(categories) == 42
    expected = [
        (f"{major:02d}", f"{major:02d}{minor:02d}", name)
        for major, (_, _, names) in enumerate(EXPECTED, start=1)
        for minor, name in enumerate(names, start=1)
    ]
    assert len(expected) == 42
    assert [(c["major_code"], c["code"], c["name_zh"]) for c in categories] == expected


def test_codes_are_unique() -> None:
    majors = [m["code"] for m in _categories()["majors"]]
    minors = [c["code"] for c in _categories()["categories"]]
    assert len(set(majors)) == len(majors)
    assert len(set(minors)) == len(minors)
    assert len({c["name_zh"] for c in _categories()["categories"]}) == 42


def test_every_minor_sits_on_its_majors_platform() -> None:
    majors = {m["code"]: m for m in _categories()["majors"]}
    assert {m["platform"] for m in majors.values()} == PLATFORMS
    for category in _categories()["categories"]:
        assert category["major_code"] in majors, category["code"]
        assert category["code"].startswith(category["major_code"])
        assert category["platform"] == majors[category["major_code"]]["platform"], category["code"]


def test_category_fields() -> None:
    for category in _categories()["categories"]:
        code = category["code"]
        assert category["default_level"] in LEVELS, code
        assert category["default_unit_type"] in UNIT_TYPES, code
        # A class's default unit is one that handles it directly, not a coordinating body.
        assert category["default_unit_type"] not in COORDINATION_TYPES | DISTRICT_TYPES, code
        assert category["name_en"].strip(), code
        assert _chinese(category["filing_condition"]), code
        assert _chinese(category["closing_condition"]), code
        assert category["national_code"] is None or (
            isinstance(category["national_code"], str) and category["national_code"].strip()
        ), code


def test_rule_fields() -> None:
    majors = {m["code"] for m in _categories()["majors"]}
    minors = {c["code"]: c for c in _categories()["categories"]}
    for rule in _rules():
        where = f"rule {rule['position']}"
        assert isinstance(rule["position"], int), where
        assert rule["unit_type"] in UNIT_TYPES, where
        assert rule["level"] is None or rule["level"] in LEVELS, where
        assert rule["category_code"] is None or rule["category_code"] in minors, where
        assert rule["major_code"] is None or rule["major_code"] in majors, where
        if rule["category_code"] is not None and rule["major_code"] is not None:
            assert minors[rule["category_code"]]["major_code"] == rule["major_code"], where
        # The shipped rules name no town and no unit: they hold for any district.
        assert rule["town_code"] is None, where
        assert _chinese(rule["note_zh"]), where


def test_no_rule_catches_everything() -> None:
    for rule in _rules():
        assert any(rule[key] is not None for key in MATCH_KEYS), rule["position"]
        # Not even per level: an unknown class must stay visibly unrouted.
        assert rule["category_code"] is not None or rule["major_code"] is not None, rule


def test_positions_are_unique_and_increasing() -> None:
    positions = [rule["position"] for rule in _rules()]
    assert len(set(positions)) == len(positions)
    assert positions == sorted(positions)
    assert all(a < b for a, b in pairwise(positions))


@pytest.mark.parametrize("level", LEVELS)
def test_every_class_is_routed_at_every_level(level: int) -> None:
    for category in _categories()["categories"]:
        rule = _first_match(category, level)
        assert rule is not None, f"{category['code']} {category['name_zh']} unrouted at {level}"
        unit_type = rule["unit_type"]
        if level == 4:
            assert unit_type in DISTRICT_TYPES, (category["code"], rule["position"])
        elif level == 3:
            assert unit_type in COORDINATION_TYPES, (category["code"], rule["position"])
        else:
            assert unit_type == category["default_unit_type"], (category["code"], level)


def test_every_class_has_its_own_rule() -> None:
    """One level-any rule per minor class, naming that class's default unit type."""
    own = {
        rule["category_code"]: rule["unit_type"]
        for rule in _rules()
        if rule["category_code"] is not None and rule["level"] is None
    }
    assert own == {c["code"]: c["default_unit_type"] for c in _categories()["categories"]}


def test_an_unknown_class_stays_unrouted() -> None:
    unknown = {"code": "9901", "major_code": "99"}
    assert all(_first_match(unknown, level) is None for level in LEVELS)
