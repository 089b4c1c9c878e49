"""Business modules as intake presets: the modules and questions served to the app, answers
checked and kept on filing, a class's questions edited by an administrator, and a river chief's
checklist run filing one event per failed item."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.events.models import Event
from fengqiao.intake.models import ChecklistRun
from tests.events.conftest import Auth, Desk, World


def test_the_four_modules_offer_their_classes_and_checklists(api: TestClient, auth: Auth) -> None:
    response = api.get("/api/v1/intake/modules", headers=auth("demo_grid_worker"))
    assert response.status_code == 200
    modules = {m["code"]: m for m in response.json()}
    assert [m["name_zh"] for m in modules.values()] == ["民情通", "食安通", "智慧安监", "河长通"]
    river = modules["hezhang"]
    assert "河道水体污染" in [c["name_zh"] for c in river["categories"]]
    assert river["subject_label"] == "河道（河段）"
    assert [i["code"] for i in river["checklist"]][:3] == ["water", "floating", "outfall"]
    assert river["checklist"][0]["category_name"] == "河道水体污染"

    classes = {c["category"]: c for c in api.get("/api/v1/intake/classes",
                                                  headers=auth("demo_grid_worker")).json()}  # fmt: skip
    assert "河长通" in classes["0901"]["keywords"]
    assert classes["0502"]["questions"][0] == {
        "code": "shop_name", "datatype": "string", "required": True, "description": "经营户名称",
        "order": 0, "values": [],
    }  # fmt: skip


def test_answers_are_checked_kept_on_the_trail_and_shown(desk: Desk) -> None:
    refused = desk.file(category="0502", expect=422, answers={"issues": ["expired", "mouldy"]})
    fields = {e["field"]: e["reason_zh"] for e in refused["errors"]}
    assert fields.keys() == {"answers.shop_name", "answers.issues"}
    assert "必填" in fields["answers.shop_name"] and "mouldy" in fields["answers.issues"]

    event = desk.file(
        category="0502", answers={"shop_name": "老街小吃", "issues": ["expired", "hygiene"]}
    )
    detail = desk.get(event)
    assert detail["trail"][0]["payload"]["answers"] == {
        "shop_name": "老街小吃", "issues": ["expired", "hygiene"],
    }  # fmt: skip
    assert detail["answers"] == [
        {"code": "shop_name", "question": "经营户名称", "answer": "老街小吃"},
        {"code": "issues", "question": "问题类型", "answer": "过期变质、卫生状况差"},
    ]


def test_an_administrator_edits_a_class_s_questions(
    api: TestClient, auth: Auth, desk: Desk
) -> None:
    questions: list[dict[str, Any]] = [
        {"code": "bin_no", "datatype": "string", "required": True, "description": "垃圾桶编号"},
        {"code": "full", "datatype": "singlevaluelist", "description": "满溢程度",
         "values": [["half", "半满"], ["over", "溢出"]]},
    ]  # fmt: skip
    url = "/api/v1/intake/classes/0902/questions"
    assert api.put(url, json=questions, headers=auth("demo_operator")).status_code == 403
    bad = api.put(url, json=[{**questions[1], "values": []}], headers=auth("admin"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "questions[0].values"
    assert api.put("/api/v1/intake/classes/9999/questions", json=questions,
                   headers=auth("admin")).status_code == 404  # fmt: skip
    response = api.put(url, json=questions, headers=auth("admin"))
    assert response.status_code == 200, response.text
    assert [q["code"] for q in response.json()] == ["bin_no", "full"]
    # The next report of the class is asked the new questions at once.
    missing = desk.file(category="0902", expect=422)
    assert missing["errors"][0]["field"] == "answers.bin_no"
    desk.file(category="0902", answers={"bin_no": "KQ-017", "full": "over"})


def _run(world: World, **fields: Any) -> dict[str, Any]:
    lat, lng = world.grid_point
    items = [{"code": c, "ok": True} for c in
             ("water", "floating", "outfall", "bank", "muck", "signboard", "facilities")]  # fmt: skip
    body: dict[str, Any] = {"module": "hezhang", "subject": "瓜渚湖直江 柯桥段", "lat": lat,
                            "lng": lng, "items": items}  # fmt: skip
    body.update(fields)
    return body


def test_a_river_chief_s_checklist_files_an_event_per_failed_item(
    api: TestClient, auth: Auth, world: World, db: Session
) -> None:
    body = _run(world)
    body["items"][0] = {"code": "water", "ok": False, "note": "河水发黑,有异味,约100米"}
    body["items"][2] = {"code": "outfall", "ok": False, "note": "雨水口有白色污水排出"}
    headers = {**auth("demo_grid_worker"), "Idempotency-Key": "run-1"}
    before = db.scalar(select(func.count()).select_from(Event)) or 0
    response = api.post("/api/v1/intake/checklists", json=body, headers=headers)
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["problems"] == 2 and run["module_name"] == "河长通"
    failed = {i["code"]: i for i in run["items"] if not i["ok"]}
    assert failed.keys() == {"water", "outfall"}
    assert all(i.get("event_id") is None for i in run["items"] if i["ok"])
    assert db.scalar(select(func.count()).select_from(Event)) == before + 2

    water = api.get(f"/api/v1/events/{failed['water']['event_id']}",
                    headers=auth("demo_operator")).json()  # fmt: skip
    assert water["category"] == "0901" and water["status"] == "reported"
    assert "河水发黑" in water["description"] and "瓜渚湖直江" in water["description"]
    # The run's subject answers the class's river question.
    assert water["answers"] == [
        {"code": "river", "question": "河道名称（河段）", "answer": "瓜渚湖直江 柯桥段"}
    ]
    outfall = api.get(f"/api/v1/events/{failed['outfall']['event_id']}",
                      headers=auth("demo_operator")).json()  # fmt: skip
    assert outfall["category"] == "0905"

    # A retry (the phone lost the answer) returns the same run and files nothing new.
    again = api.post("/api/v1/intake/checklists", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == run["id"]
    assert db.scalar(select(func.count()).select_from(Event)) == before + 2

    mine = api.get("/api/v1/intake/checklists", headers=auth("demo_grid_worker")).json()
    assert [r["id"] for r in mine["items"]] == [run["id"]]
    seen = api.get(f"/api/v1/intake/checklists/{run['id']}", headers=auth("demo_operator"))
    assert seen.status_code == 200 and seen.json()["subject"] == "瓜渚湖直江 柯桥段"
    assert api.get(f"/api/v1/intake/checklists/{run['id']}",
                   headers=auth("demo_handler")).status_code == 404  # fmt: skip


def test_a_bad_checklist_is_refused_whole_and_files_nothing(
    api: TestClient, auth: Auth, world: World, db: Session
) -> None:
    before = db.scalar(select(func.count()).select_from(Event)) or 0
    body = _run(world)
    body["items"] = body["items"][1:]  # `water` unanswered
    body["items"][0] = {"code": "floating", "ok": False}  # no note
    body["items"].append({"code": "rainbow", "ok": True})
    response = api.post("/api/v1/intake/checklists", json=body, headers=auth("demo_grid_worker"))
    assert response.status_code == 422
    problem = response.json()
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"items", "items[0].note", "items[6].code"}
    assert "水体无黑臭" in problem["detail_zh"]
    assert db.scalar(select(func.count()).select_from(Event)) == before
    assert db.scalar(select(func.count()).select_from(ChecklistRun)) == 0

    unknown = api.post("/api/v1/intake/checklists", json=_run(world, module="nosuch"),
                       headers=auth("demo_grid_worker"))  # fmt: skip
    assert unknown.status_code == 404
    no_list = api.post("/api/v1/intake/checklists", json=_run(world, module="minqing"),
                       headers=auth("demo_grid_worker"))  # fmt: skip
    assert no_list.status_code == 422 and "没有检查表" in no_list.json()["detail_zh"]
    operator = api.post("/api/v1/intake/checklists", json=_run(world),
                        headers=auth("demo_operator"))  # fmt: skip
    assert operator.status_code == 403


def test_answers_ride_a_report_with_photos_as_one_json_field(
    api: TestClient, auth: Auth, world: World
) -> None:
    from tests.events.conftest import jpeg

    lat, lng = world.grid_point
    form = {"source": "grid_worker", "category": "0502", "lat": str(lat), "lng": str(lng),
            "answers": '{"shop_name": "城南面馆", "issues": ["hygiene"]}'}  # fmt: skip
    photos = [("photos", ("a.jpg", jpeg(), "image/jpeg"))]
    response = api.post("/api/v1/events", data=form, files=photos, headers=auth("demo_grid_worker"))
    assert response.status_code == 201, response.text
    detail = api.get(f"/api/v1/events/{response.json()['id']}", headers=auth("demo_operator"))
    assert [a["answer"] for a in detail.json()["answers"]] == ["城南面馆", "卫生状况差"]

    broken = api.post("/api/v1/events", data={**form, "answers": "{shop_name"}, files=photos,
                      headers=auth("demo_grid_worker"))  # fmt: skip
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["field"] == "answers"


def test_a_required_question_is_answered_per_failed_item_and_spares_sensors(
    api: TestClient, auth: Auth, world: World, db: Session
) -> None:
    asked = [{"code": "sampler", "datatype": "string", "required": True, "description": "采样人"},
             {"code": "river", "datatype": "string", "description": "河道名称"}]  # fmt: skip
    put = api.put("/api/v1/intake/classes/0901/questions", json=asked, headers=auth("admin"))
    assert put.status_code == 200, put.text
    body = _run(world)
    body["items"][0] = {"code": "water", "ok": False, "note": "河水发黑"}
    refused = api.post("/api/v1/intake/checklists", json=body, headers=auth("demo_grid_worker"))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "items[0].answers.sampler"
    assert "水体无黑臭" in refused.json()["detail_zh"]
    assert db.scalar(select(func.count()).select_from(ChecklistRun)) == 0

    body["items"][0]["answers"] = {"sampler": "王五"}
    created = api.post("/api/v1/intake/checklists", json=body, headers=auth("demo_grid_worker"))
    assert created.status_code == 201, created.text
    event_id = created.json()["items"][0]["event_id"]
    event = api.get(f"/api/v1/events/{event_id}", headers=auth("demo_operator")).json()
    assert {a["code"]: a["answer"] for a in event["answers"]} == {
        "sampler": "王五", "river": "瓜渚湖直江 柯桥段",
    }  # fmt: skip

    # A water-quality sensor cannot answer who sampled: its alarm is still filed.
    lat, lng = world.grid_point
    sensor = api.post(
        "/api/v1/events",
        json={"source": "iot", "category": "0901", "lat": lat, "lng": lng},
        headers=auth("demo_device"),
    )
    assert sensor.status_code == 201, sensor.text


def test_a_class_s_questions_as_read_can_be_written_back(api: TestClient, auth: Auth) -> None:
    classes = api.get("/api/v1/intake/classes", headers=auth("admin")).json()
    river = next(c for c in classes if c["category"] == "0901")
    response = api.put(
        "/api/v1/intake/classes/0901/questions", json=river["questions"], headers=auth("admin")
    )
    assert response.status_code == 200, response.text
    assert response.json() == river["questions"]
