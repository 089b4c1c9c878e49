"""The CSV import as an administrator uses it: good rows stored, every bad row refused with
its row, field and reason, nothing stored lost, a dry run that writes nothing."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.cameras.models import Camera
from fengqiao.crs import wgs84_to_gcj02
from fengqiao.geo.models import LayerFeature
from tests.cameras.conftest import (
    Grids,
    a_seeded_camera,
    code,
    csv_text,
    import_csv,
    stored,
)


def errors_by_row(report: dict[str, Any]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for error in report["errors"]:
        found.setdefault(error["row"], set()).add(error["field"])
        assert error["reason"] and error["reason_zh"]
    return found


def test_good_rows_are_imported_and_bad_rows_refused_with_reasons(
    client: TestClient, auth: Any, db: Session, grids: Grids
) -> None:
    lat, lng = grids.inside(grids.mine)
    olat, olng = grids.inside(grids.other)
    seeded = a_seeded_camera(db)
    seeded_url = (seeded.props or {})["stream_url"]
    count_before = db.scalar(select(func.count()).select_from(Camera)) or 0
    text = csv_text(
        f"{code(900001)},新装监控一,{lng},{lat},,rtsp://10.0.0.1/a,在线,路口东侧",  # 2 good
        f"{code(900002, '131')},新装监控二,{olng},{olat},wgs84,https://v.example/b.m3u8,,",  # 3
        f"{seeded.code},改名的监控,{seeded.lng},{seeded.lat},,{seeded_url},fault,",  # 4 update
        f"3306030000132000001,短编码,{lng},{lat},,rtsp://h/c,,",  # 5 19 digits
        f"33060300001320000A01,字母,{lng},{lat},,rtsp://h/d,,",  # 6 non-digit
        f"{code(900003, '118')},录像机,{lng},{lat},,rtsp://h/e,,",  # 7 NVR type
        f"{code(900001)},重复编码,{lng},{lat},,rtsp://h/f,,",  # 8 duplicate id in file
        f"{code(900004)},重复流,{lng},{lat},,{seeded_url},,",  # 9 stream of a stored camera
        f"{code(900005)},区外,121.9,31.2,,rtsp://h/g,,",  # 10 outside the district
        f"{code(900006)},颠倒,{lat},{lng},,rtsp://h/h,,",  # 11 lat/lng swapped
        f"{code(900007)},FTP,{lng},{lat},,ftp://h/i.m3u8,,",  # 12 not a stream scheme
        f"{code(900008)},非HLS,{lng},{lat},,http://h/live.flv,,",  # 13 http but not HLS
        f"{code(900009)},未知状态,{lng},{lat},,rtsp://h/j,broken,",  # 14 unknown status
        f"{code(900010)},坐标系,{lng},{lat},mars,rtsp://h/k,,",  # 15 unknown CRS
        f"{code(900011)},非数字,abc,{lat},,rtsp://h/l,,",  # 16 not a number
        f"{code(900012, division='110101')},外区编码,{lng},{lat},,rtsp://h/m,,",  # 17 division
        f"3.30603E+19,科学计数,{lng},{lat},,rtsp://h/n,,",  # 18 spreadsheet-mangled id
        f"{code(900013)},少列,{lng}",  # 19 too few fields
        f"{code(900014)},带密码,{lng},{lat},,rtsp://admin:12345@10.0.0.9/live,,",  # 20 password
        "",  # a blank line is skipped
    )
    response = import_csv(client, auth("admin"), text)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["dry_run"] is False
    assert (report["rows"], report["created"], report["updated"], report["refused"]) == (
        19, 2, 1, 16
    )  # fmt: skip
    assert errors_by_row(report) == {
        5: {"code"}, 6: {"code"}, 7: {"code"}, 8: {"code"}, 9: {"stream_url"}, 10: {"lat,lng"},
        11: {"lat"}, 12: {"stream_url"}, 13: {"stream_url"}, 14: {"status"}, 15: {"crs"},
        16: {"lng"}, 17: {"code"}, 18: {"code"}, 19: {"row"}, 20: {"stream_url"},
    }  # fmt: skip
    reasons = {e["row"]: e["reason"] for e in report["errors"]}
    assert "row 2" in reasons[8] and seeded.code in reasons[9] and "swapped" in reasons[11]
    assert "NVR" in reasons[7] and ".m3u8" in reasons[13] and "text" in reasons[18]
    assert "password" in reasons[20]

    first = stored(db, code(900001))
    assert first is not None
    feature, camera = first
    assert (feature.name, camera.status) == ("新装监控一", "online")
    assert feature.grid_id == grids.mine.id and feature.lat == lat and feature.lng == lng
    assert feature.props == {"stream_url": "rtsp://10.0.0.1/a", "install_place": "路口东侧"}
    second = stored(db, code(900002, "131"))
    assert second is not None and second[1].status == "offline"  # new, no status: not seen yet
    assert second[0].grid_id == grids.other.id
    updated = stored(db, seeded.code)
    assert updated is not None
    assert updated[0].name == "改名的监控" and updated[1].status == "fault"
    assert updated[0].props is not None and updated[0].props["vendor"]  # other props kept
    assert db.scalar(select(func.count()).select_from(Camera)) == count_before + 2
    for refused in (900003, 900004, 900005, 900013):
        assert stored(db, code(refused)) is None


def test_a_bad_row_for_a_stored_camera_leaves_it_as_it_was(
    client: TestClient, auth: Any, db: Session
) -> None:
    seeded = a_seeded_camera(db)
    before = stored(db, seeded.code)
    assert before is not None
    name, lat, props, status = before[0].name, before[0].lat, before[0].props, before[1].status
    text = csv_text(f"{seeded.code},新名字,{seeded.lng},{seeded.lat},,ftp://x/y,,")
    report = import_csv(client, auth("admin"), text).json()
    assert report["refused"] == 1 and report["updated"] == 0
    after = stored(db, seeded.code)
    assert after is not None
    assert (after[0].name, after[0].lat, after[0].props, after[1].status) == (
        name, lat, props, status
    )  # fmt: skip


def test_a_dry_run_reports_the_same_and_writes_nothing(
    client: TestClient, auth: Any, db: Session, grids: Grids
) -> None:
    lat, lng = grids.inside(grids.mine)
    seeded = a_seeded_camera(db)
    text = csv_text(
        f"{code(910001)},新监控,{lng},{lat},,rtsp://h/new,,",
        f"{seeded.code},改名,{seeded.lng},{seeded.lat},,{(seeded.props or {})['stream_url']},,",
        f"{code(910002)},坏,{lng},{lat},,rtsp://h/x,坏了,",
    )
    dry = import_csv(client, auth("admin"), text, dry_run="true").json()
    assert (dry["dry_run"], dry["created"], dry["updated"], dry["refused"]) == (True, 1, 1, 1)
    assert stored(db, code(910001)) is None
    unchanged = stored(db, seeded.code)
    assert unchanged is not None and unchanged[0].name == seeded.name
    real = import_csv(client, auth("admin"), text).json()
    assert {k: real[k] for k in ("created", "updated", "refused", "errors")} == {
        k: dry[k] for k in ("created", "updated", "refused", "errors")
    }
    # Again: the same file now changes nothing, and says so.
    again = import_csv(client, auth("admin"), text).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)


def test_the_export_imports_again_unchanged(client: TestClient, auth: Any) -> None:
    exported = client.get("/api/v1/cameras/export.csv", headers=auth("admin"))
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("code,name,lng,lat,crs,stream_url,status,install_place")
    # Coordinates carry 7 decimals (about 1 cm), not the float's repr (120.49216700000001).
    for line in lines[1:]:
        lng, lat = next(csv.reader([line]))[2:4]
        assert re.fullmatch(r"1[12]\d\.\d{7}", lng) and re.fullmatch(r"[23]\d\.\d{7}", lat), line
    report = import_csv(client, auth("admin"), exported.content).json()
    assert report["rows"] == len(lines) - 1 == 200
    assert (report["unchanged"], report["created"], report["updated"], report["refused"]) == (
        200, 0, 0, 0
    )  # fmt: skip
    assert report["ignored_columns"] == ["grid_code", "last_seen_at"]


def test_chinese_headers_gb18030_and_gcj02_points(
    client: TestClient, auth: Any, db: Session, grids: Grids
) -> None:
    lat, lng = grids.inside(grids.mine)
    glng, glat = wgs84_to_gcj02(lng, lat)
    text = csv_text(
        f"{code(920001)},火星坐标监控,{glng},{glat},gcj02,rtsp://h/g,离线,",
        header="国标编码,名称,经度,纬度,坐标系,视频流地址,状态,安装位置",
    )
    report = import_csv(client, auth("admin"), text.encode("gb18030")).json()
    assert report["created"] == 1, report
    found = stored(db, code(920001))
    assert found is not None
    # Stored in WGS-84: the GCJ-02 offset (hundreds of metres) is taken off on entry.
    assert abs(found[0].lat - lat) < 1e-5 and abs(found[0].lng - lng) < 1e-5
    assert found[1].status == "offline"


def test_a_file_that_is_not_a_camera_csv_is_refused_whole(
    client: TestClient, auth: Any, db: Session
) -> None:
    before = db.scalar(select(func.count()).select_from(LayerFeature))
    for body, words in [
        (b"", "empty"),
        (b"name,lat\nx,1\n", "missing columns: code, lng, stream_url"),
        (b"\xff\xfe\x00\x00garbage\x81", "UTF-8"),
    ]:
        response = import_csv(client, auth("admin"), body)
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith("application/problem+json")
        assert words in response.json()["detail"]
        assert response.json()["errors"][0]["field"] == "file"
    big = import_csv(client, auth("admin"), b"code,name,lng,lat,stream_url\n" + b"x" * (21 << 20))
    assert big.status_code == 413 and big.json()["errors"][0]["field"] == "file"
    assert db.scalar(select(func.count()).select_from(LayerFeature)) == before


def test_only_administrators_import_and_only_in_their_area(
    client: TestClient, auth: Any, db: Session, grids: Grids
) -> None:
    lat, lng = grids.inside(grids.mine)
    text = csv_text(f"{code(930001)},新监控,{lng},{lat},,rtsp://h/z,,")
    assert import_csv(client, auth("demo_operator"), text).status_code == 403
    assert stored(db, code(930001)) is None


def test_a_multipart_upload_works_like_a_csv_body(
    client: TestClient, auth: Any, db: Session, grids: Grids
) -> None:
    lat, lng = grids.inside(grids.mine)
    text = csv_text(f"{code(940001)},表单上传,{lng},{lat},,rtsp://h/form,online,")
    response = client.post(
        "/api/v1/cameras/import",
        files={"file": ("cameras.csv", text.encode(), "text/csv")},
        headers=auth("admin"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    assert stored(db, code(940001)) is not None


def test_the_guides_example_imports_as_the_guide_says(
    client: TestClient, auth: Any, db: Session
) -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "cameras.md").read_text("utf-8")
    example = guide.split("### Example", 1)[1].split("```csv", 1)[1].split("```", 1)[0]
    promised = json.loads(
        guide.split("### The report", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    )
    report = import_csv(client, auth("admin"), example.lstrip()).json()
    assert report == promised
    gcj = stored(db, "33060300001310000902")
    assert gcj is not None and gcj[1].status == "online"
    assert abs(gcj[0].lat - 30.078211) < 1e-5 and abs(gcj[0].lng - 120.492167) < 1e-5
    third = stored(db, "33060300001320000903")
    assert third is not None and third[1].status == "offline"


def test_an_import_racing_another_is_refused_whole(
    client: TestClient, auth: Any, db: Session, grids: Grids, monkeypatch: Any
) -> None:
    """As if another import stored the id between reading the registry and writing: the unique
    id refuses the insert, the whole import rolls back and says to run it again."""
    from fengqiao.cameras import importer

    lat, lng = grids.inside(grids.mine)
    seeded = a_seeded_camera(db)
    monkeypatch.setattr(importer, "stored_cameras", lambda _db: {})
    text = csv_text(
        f"{code(970001)},新监控,{lng},{lat},,rtsp://h/race-a,,",
        f"{seeded.code},同时被导入,{lng},{lat},,rtsp://h/race-b,,",
    )
    response = import_csv(client, auth("admin"), text)
    assert response.status_code == 409, response.text
    assert response.json()["title_zh"] == "冲突"
    assert stored(db, code(970001)) is None
    kept = stored(db, str(seeded.code))
    assert kept is not None and kept[0].name == seeded.name
