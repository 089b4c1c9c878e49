"""GB/T 28181 ids: what the registry accepts as a camera's id, and why it refuses the rest."""

from __future__ import annotations

import pytest

from fengqiao.cameras.codes import camera_type, check_camera_code
from fengqiao.cameras.importer import decode_csv
from tests.cameras.conftest import code


def test_the_seeds_ids_are_cameras_of_the_district() -> None:
    seeded = "33060300" + "00" + "132" + "0000001"
    assert check_camera_code(seeded, ["330603"]) is None
    assert camera_type(seeded) == "ip_camera"
    assert camera_type(code(5, "131")) == "camera"


@pytest.mark.parametrize(
    ("bad", "words", "words_zh"),
    [
        ("3306030000132000001", "has 19 characters", "为 19 位"),
        ("330603000013200000012", "has 21 characters", "为 21 位"),
        ("33060300001320000O01", "only the digits", "只能由数字"),
        ("３３０６０３００００１３２００００００１", "only the digits", "只能由数字"),
        (code(1, "118"), "118 means NVR", "网络视频录像机"),
        (code(1, "111"), "111 means DVR", "数字视频录像机"),
        (code(1, "200"), "central signalling server", "中心信令控制服务器"),
        (code(1, "133"), "display", "显示器"),
        (code(1, "132", "330602"), "not in this district", "不属于本辖区"),
    ],
)
def test_bad_ids_are_refused_with_the_reason(bad: str, words: str, words_zh: str) -> None:
    problem = check_camera_code(bad, ["330603"])
    assert problem is not None
    assert words in problem.reason and words_zh in problem.reason_zh


def test_the_division_check_is_configurable() -> None:
    other = code(1, "132", "330602")
    assert check_camera_code(other, []) is None
    assert check_camera_code(other, ["330603", "330602"]) is None


def test_csv_text_in_utf8_with_bom_or_gb18030_is_read() -> None:
    text = "code,name\n1,柯桥\n"
    assert decode_csv(("\ufeff" + text).encode()) == text
    assert decode_csv(text.encode("gb18030")) == text
