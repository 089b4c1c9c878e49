"""The phone app's proof on site, in Chromium on phone-sized screens: photos stamped with time,
place and grid that keep their camera's EXIF and say camera or album; the verify card with
what the worker needs on site; handlers signing and feeding back on the phone; a queued report
refused outside the district moved and sent again; the alarm button covering no control."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import ExifTags, Image
from playwright.sync_api import Browser, FilePayload, Locator, Page, ViewportSize, expect

from scripts.screenshot import DESKTOP
from tests.e2e.conftest import (
    ARTIFACTS,
    JPEG_PHOTO,
    Api,
    LiveServer,
    Visit,
    World,
    open_visit,
    phone_context_options,
    sign_in,
)

pytestmark = pytest.mark.e2e

PHONE_390: ViewportSize = {"width": 390, "height": 844}
PHONE_375: ViewportSize = {"width": 375, "height": 667}
OUTSIDE = (31.2304, 121.4737)  # Shanghai: no grid of the demo district
EXIF_TIME = "2026:05:01 09:30:00"


def exif_jpeg() -> bytes:
    """A 640×480 camera JPEG with EXIF: maker, time, GPS, and Orientation 6 (shown upright as
    480×640)."""
    image = Image.new("RGB", (640, 480), (120, 130, 140))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "FengqiaoTest"
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.Exif] = {ExifTags.Base.DateTimeOriginal: EXIF_TIME}
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (30.0, 6.0, 35.0), 3: "E", 4: (120.0, 28.0, 54.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 210, 220)).save(buffer, "PNG")
    return buffer.getvalue()


def payload(name: str, data: bytes, mime: str = "image/jpeg") -> FilePayload:
    return {"name": name, "mimeType": mime, "buffer": data}


# What the page hands to fetch(), recorded in the page: Chromium does not report a multipart
# body holding files to the driver, so the FormData's entries are read where they are built.
RECORDER = """(() => {
  const sent = (window.__sent = []);
  const fetch = window.fetch.bind(window);
  window.fetch = (url, options) => {
    const body = options && options.body;
    if (body instanceof FormData) {
      sent.push({ url: String(url), fields: Array.from(body.entries(), ([key, value]) =>
        [key, typeof value === "string" ? value : { name: value.name, size: value.size, type: value.type }]) });
    } else if (typeof body === "string") {
      sent.push({ url: String(url), json: JSON.parse(body) });
    }
    return fetch(url, options);
  };
})();"""


def sent(page: Page, fragment: str) -> list[dict[str, Any]]:
    """The bodies the page sent to URLs containing `fragment`, oldest first."""
    records: list[dict[str, Any]] = page.evaluate("window.__sent")
    return [r for r in records if fragment in r["url"]]


def form_fields(record: dict[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for key, value in record["fields"]:
        out.setdefault(key, []).append(value)
    return out


def stored(live_server: LiveServer, api: Api, user: str, url: str) -> Image.Image:
    response = httpx.get(live_server.base_url + url, headers=api.headers(user))
    assert response.status_code == 200
    return Image.open(io.BytesIO(response.content))


def brightness(image: Image.Image, x: int, y: int) -> int:
    """The sum of a pixel's red, green and blue."""
    red, green, blue = image.convert("RGB").getpixel((x, y))  # type: ignore[misc]
    return int(red) + int(green) + int(blue)


def phone(
    browser: Browser, live_server: LiveServer, world: World, user: str, viewport: ViewportSize,
    at: tuple[float, float] | None = None,
) -> Visit:  # fmt: skip
    """`user`'s phone app on a phone of `viewport`, standing at `at` (default: in the grid)."""
    options = phone_context_options(world)
    if at is not None:
        options["geolocation"] = {"latitude": at[0], "longitude": at[1], "accuracy": 12}
    visit = open_visit(browser, live_server, viewport, **options)
    visit.page.context.add_init_script(RECORDER)
    sign_in(visit, user, live_server.settings.demo_password, landing="/m/")
    visit.page.locator("#app[data-state=ready]").wait_for()
    return visit


@pytest.fixture
def worker_390(browser: Browser, live_server: LiveServer, world: World) -> Iterator[Visit]:
    visit = phone(browser, live_server, world, "demo_grid_worker", PHONE_390)
    yield visit
    visit.page.context.close()


def grid_name(api: Api, point: tuple[float, float]) -> str:
    name: str = api.get("demo_operator", "/grids/locate", lat=point[0], lng=point[1])["grid"][
        "name"
    ]
    return name


def pick_class(page: Page, code: str) -> None:
    page.locator(f"#major-chips .chip[data-code='{code[:2]}']").click()
    page.locator(f"#minor-chips .chip[data-code='{code}']").click()


def test_photos_are_stamped_keep_their_exif_and_say_camera_or_album(
    worker_390: Visit, world: World, api: Api, live_server: LiveServer
) -> None:
    page = worker_390.page
    marker = f"水印-{uuid.uuid4().hex[:6]}"
    expect(page.locator("#gps-text")).to_contain_text("精度 ±12 米")
    pick_class(page, world.handler_category)
    page.locator("#report-description").fill(marker + " 路灯损坏")
    page.locator("#report-form [name=address]").fill("柯桥街道笛扬路 88 号")
    page.locator("#report-photos").set_input_files(payload("camera.jpg", exif_jpeg()))
    page.locator("#report-album").set_input_files(payload("album.png", png(), "image/png"))
    thumbs = page.locator("#report-thumbs img")
    expect(thumbs).to_have_count(2)
    camera, album = (thumbs.nth(i).get_attribute("data-stamp") or "" for i in range(2))
    lat, lng = world.grid_point
    assert camera.startswith("现场拍摄 · ") and album.startswith("相册照片 · 选取于 ")
    for stamp in (camera, album):
        assert "地址：柯桥街道笛扬路 88 号" in stamp
        assert f"坐标：{lat:.6f}，{lng:.6f}（±12 米）" in stamp
        assert "网格：" + grid_name(api, world.grid_point) in stamp
    worker_390.screenshot("worker-photo-stamps")

    page.locator("#report-submit").click()
    expect(page.locator(".toast-ok", has_text="已上报").last).to_be_visible()
    # The contract: one origin per photo in order, the phone's position once.
    [filing] = sent(page, "/api/v1/events")
    form = form_fields(filing)
    assert form["origin"] == ["camera", "album"]
    assert [(p["name"], p["type"]) for p in form["photos"]] == [
        ("photo-0.jpg", "image/jpeg"), ("photo-1.jpg", "image/jpeg"),
    ]  # fmt: skip
    assert form["device_lat"] == [str(lat)] and form["device_lng"] == [str(lng)]
    assert form["device_accuracy"] == ["12"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", form["device_at"][0])

    event = api.get("demo_operator", "/events", q=marker)["items"][0]
    photos = api.get("demo_operator", f"/events/{event['id']}")["attachments"]
    assert [p["mime"] for p in photos] == ["image/jpeg", "image/jpeg"]
    # The server records where each photo came from, and where the phone was.
    assert [p["origin"] for p in photos] == ["camera", "album"]
    assert photos[0]["device_lat"] == pytest.approx(lat)
    first = stored(live_server, api, "demo_operator", photos[0]["url"])
    # The camera's EXIF is kept: maker, time and GPS; the pixels are upright, so Orientation 1.
    exif = first.getexif()
    assert exif[ExifTags.Base.Make] == "FengqiaoTest"
    assert exif[ExifTags.Base.Orientation] == 1
    assert exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] == EXIF_TIME
    assert exif.get_ifd(ExifTags.IFD.GPSInfo)[2] == (30.0, 6.0, 35.0)
    assert photos[0]["taken_at"] is not None and photos[0]["lat"] == pytest.approx(
        30.1097, abs=1e-3
    )
    assert first.size == (480, 640)
    ARTIFACTS.mkdir(exist_ok=True)
    first.save(ARTIFACTS / "worker-stamped-photo.png")  # to look at the stamp itself
    # The stamp is drawn into the picture: a dark band along the bottom, the photo above it.
    assert brightness(first, 10, 10) == pytest.approx(390, abs=24)
    assert brightness(first, 470, 636) < 390 / 2
    # A PNG from the album has no EXIF to keep; it is stamped all the same.
    second = stored(live_server, api, "demo_operator", photos[1]["url"])
    assert second.format == "JPEG" and not second.getexif()
    assert brightness(second, 395, 297) < 630 / 2
    worker_390.assert_clean()


def file_handled_event(api: Api, world: World, marker: str) -> dict[str, Any]:
    """An event of demo_grid_worker's with a report photo, dispatched, signed and fed back."""
    lat, lng = world.grid_point
    body = {"source": "grid_worker", "category": world.handler_category, "lat": str(lat),
            "lng": str(lng), "description": f"{marker} 人行道井盖破损", "address": "柯桥街道湖东路 12 号"}  # fmt: skip
    event = api.post(
        "demo_grid_worker", "/events", expect=201, data=body,
        files=[("photos", ("scene.jpg", JPEG_PHOTO, "image/jpeg"))],
    )  # fmt: skip
    event = api.act(event, "demo_operator", "accept")
    event = api.act(event, "demo_operator", "dispatch")
    event = api.act(event, "demo_handler", "sign")
    after = api.post(
        "demo_handler", f"/events/{event['id']}/attachments?kind=after", expect=201,
        files=[("photos", ("done.jpg", JPEG_PHOTO, "image/jpeg"))],
    )  # fmt: skip
    return api.act(
        event, "demo_handler", "feedback", result="已更换井盖",
        attachment_ids=[a["id"] for a in after],
    )  # fmt: skip


def test_the_verify_card_has_what_the_worker_needs_and_closing_refreshes_my_reports(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    marker = f"核查卡-{uuid.uuid4().hex[:6]}"
    event = file_handled_event(api, world, marker)
    visit = phone(browser, live_server, world, "demo_grid_worker", PHONE_390)
    page = visit.page
    mine = page.locator(f"#my-reports li[data-event='{event['id']}']")
    expect(mine).to_have_attribute("data-status", "handled")
    page.locator(".tab-bar button[data-tab=tasks]").click()
    card = page.locator(f".verify-card[data-id='{event['id']}']")
    expect(card).to_contain_text(f"{marker} 人行道井盖破损")
    grid = grid_name(api, world.grid_point)
    expect(card.locator(".place")).to_have_text(f"地址：柯桥街道湖东路 12 号 · {grid}")
    expect(card).to_contain_text("处置结果：已更换井盖")
    # The map: the event and the worker, who stands on the spot.
    expect(card.locator(".verify-map .leaflet-marker-icon[title=事件位置]")).to_have_count(1)
    expect(card.locator(".verify-map path.leaflet-interactive")).to_have_count(1)  # me
    expect(card.locator(".distance")).to_have_text("距您约 0 米")
    lat, lng = world.grid_point
    geo = card.locator("a[data-nav=geo]")
    expect(geo).to_have_text("导航")
    assert (geo.get_attribute("href") or "").startswith(f"geo:{lat},{lng}?q={lat},{lng}(")
    amap = card.locator("a[data-nav=amap]").get_attribute("href") or ""
    assert f"position={lng}%2C{lat}" in amap and "coordinate=wgs84" in amap
    # Before and after side by side, each photo titled by its kind's word.
    kinds = page.evaluate("FQ.labels('photoKinds')")
    before, after = card.locator("[data-side=before]"), card.locator("[data-side=after]")
    expect(before.locator(".photo-column-head")).to_have_text(kinds["before"])
    expect(after.locator(".photo-column-head")).to_have_text(kinds["after"])
    expect(before.locator("figure img")).to_have_count(1)
    expect(after.locator("figure figcaption")).to_contain_text(kinds["after"])
    first_kind = before.locator("figure").get_attribute("data-kind")
    expect(before.locator("figcaption")).to_contain_text(kinds[first_kind or ""])
    box_before, box_after = before.bounding_box(), after.bounding_box()
    assert box_before and box_after and abs(box_before["y"] - box_after["y"]) < 1
    assert box_before["x"] + box_before["width"] <= box_after["x"]
    card.scroll_into_view_if_needed()
    visit.screenshot("worker-verify-card")

    # 核查通过 needs the on-site photo and the confirmation, and says so.
    card.get_by_role("button", name="核查通过").click()
    expect(card.locator(".form-error")).to_have_text("请先拍摄现场照片")
    card.locator("input[data-origin=camera]").set_input_files(payload("check.jpg", JPEG_PHOTO))
    expect(card.locator(".thumbs img")).to_have_count(1)
    card.get_by_role("button", name="核查通过").click()
    expect(card.locator(".form-error")).to_have_text("请勾选确认已到现场核实")
    card.locator("input[name=confirmed]").check()
    # From another village the server refuses: the card says which condition failed.
    far = world.other_grid_point
    page.context.set_geolocation({"latitude": far[0], "longitude": far[1], "accuracy": 10})
    expect(card.locator(".distance")).not_to_have_text("距您约 0 米")
    card.get_by_role("button", name="核查通过").click()
    expect(card.locator(".form-error")).to_contain_text("拍摄地点距事件位置")
    expect(card.locator(".form-error")).to_contain_text("超过 200 米限值")
    visit.screenshot("worker-verify-refused")
    # Back on the spot, the same photo passes.
    page.context.set_geolocation({"latitude": lat, "longitude": lng, "accuracy": 12})
    expect(card.locator(".distance")).to_have_text("距您约 0 米")
    card.get_by_role("button", name="核查通过").click()
    expect(page.locator(".toast-ok", has_text="核查通过").last).to_be_visible()
    refused, passed = sent(page, "/attachments?kind=verify")
    assert form_fields(refused)["device_lat"] == [str(far[0])]
    form = form_fields(passed)
    assert form["origin"] == ["camera"] and form["device_lat"] == [str(lat)]
    body = sent(page, "/transitions")[-1]["json"]
    assert body["action"] == "verify" and body["ok"] is True and body["confirmed"] is True
    assert len(body["attachment_ids"]) == 1
    expect(card).to_have_count(0)
    # 我的上报 shows the closing without a reload.
    expect(mine).to_have_attribute("data-status", "closed")
    closed = api.get("demo_operator", f"/events/{event['id']}")
    assert closed["status"] == "closed"
    last = closed["attachments"][-1]
    assert last["kind"] == "verify" and last["origin"] == "camera"
    assert visit.errors == [
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    ]  # the refusal from afar, and nothing else
    assert visit.foreign_requests == []
    page.context.close()


def test_a_handler_signs_and_feeds_back_on_the_phone(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    marker = f"处置-{uuid.uuid4().hex[:6]}"
    event = api.file(world, description=f"{marker} 占道经营")
    event = api.act(event, "demo_operator", "accept")
    event = api.act(event, "demo_operator", "dispatch")
    api.post(
        "demo_operator", f"/events/{event['id']}/supervision-orders", expect=201,
        json={"kind": "important", "requirement": "请当日处置到位"},
    )  # fmt: skip
    visit = phone(browser, live_server, world, "demo_handler", PHONE_375)
    page = visit.page
    # A handler's tabs: the unit's 待办 and messages; no reporting, patrol or alarm.
    expect(page.locator(".app-title")).to_have_text("枫桥 · 处置人员")
    tabs = page.locator(".tab-bar button[data-tab]")
    assert tabs.evaluate_all("tabs => tabs.map((b) => b.dataset.tab)") == ["tasks", "messages"]
    expect(tabs.first).to_contain_text("待办")
    expect(page.locator("#alarm-button")).to_have_count(0)
    expect(page.locator("#view-tasks")).to_be_visible()
    card = page.locator(f".inbox-card[data-id='{event['id']}']")
    expect(card).to_contain_text(f"{marker} 占道经营")
    expect(card.locator(".badge-supervised")).to_have_text("督办")
    # The list is in the inbox order the server gives.
    order = [int(i) for i in page.locator("#inbox-list > li.task").evaluate_all(
        "items => items.map((li) => li.dataset.id)")]  # fmt: skip
    inbox = api.get("demo_handler", "/events", task="inbox", size=50)["items"]
    assert order == [e["id"] for e in inbox]
    card.get_by_role("button", name="签收").click()
    expect(page.locator(".toast-ok", has_text="已签收").last).to_be_visible()
    expect(card).to_have_attribute("data-status", "signed")
    # 反馈: the result and a photo taken on the spot.
    form = card.locator(".feedback-form")
    form.get_by_role("button", name="提交反馈").click()
    expect(form.locator(".form-error")).to_have_text("请填写处置结果")
    form.locator("[name=result]").fill("已劝离摊贩，恢复通行")
    form.get_by_role("button", name="提交反馈").click()
    expect(form.locator(".form-error")).to_have_text("请拍摄处置后照片")
    form.locator("input[data-origin=camera]").set_input_files(payload("done.jpg", JPEG_PHOTO))
    expect(form.locator(".thumbs img")).to_have_count(1)
    visit.screenshot("handler-phone-feedback")
    form.get_by_role("button", name="提交反馈").click()
    expect(page.locator(".toast-ok", has_text="已反馈").last).to_be_visible()
    [upload] = sent(page, "/attachments?kind=after")
    assert form_fields(upload)["origin"] == ["camera"]
    expect(card).to_have_count(0)  # handled: it leaves the unit's 待办
    handled = api.get("demo_operator", f"/events/{event['id']}")
    assert handled["status"] == "handled" and handled["result"] == "已劝离摊贩，恢复通行"
    assert [(a["kind"], a["origin"]) for a in handled["attachments"]][-1] == ("after", "camera")
    visit.assert_clean()
    page.context.close()


def test_a_report_refused_outside_the_district_is_moved_and_sent_again(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    marker = f"修正位置-{uuid.uuid4().hex[:6]}"
    visit = phone(browser, live_server, world, "demo_grid_worker", PHONE_390, at=OUTSIDE)
    page = visit.page
    pick_class(page, world.handler_category)
    page.locator("#report-description").fill(marker)
    page.locator("#report-submit").click()
    failed = page.locator("#queue-list li.failed")
    expect(failed).to_contain_text("位置不在辖区内")
    failed.get_by_role("button", name="修正位置").click()
    dialog = page.locator("#fix-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#fix-status")).to_contain_text("不在本辖区")
    expect(dialog.locator(".leaflet-marker-icon")).to_have_count(1)
    # Back where it happened: re-locate, the point lands in the grid, and the report goes.
    lat, lng = world.grid_point
    page.context.set_geolocation({"latitude": lat, "longitude": lng, "accuracy": 8})
    dialog.get_by_role("button", name="重新定位").click()
    expect(page.locator("#fix-status")).to_contain_text(grid_name(api, world.grid_point))
    visit.screenshot("worker-fix-point")
    dialog.get_by_role("button", name="重新发送").click()
    expect(page.locator(".toast-ok", has_text="已上报").last).to_be_visible()
    expect(page.locator("#queue-card")).to_be_hidden()
    found = api.get("demo_operator", "/events", q=marker)["items"]
    assert len(found) == 1
    assert found[0]["lat"] == pytest.approx(lat) and found[0]["lng"] == pytest.approx(lng)
    assert found[0]["grid"]["name"] == grid_name(api, world.grid_point)
    # The refused filing and the locate of the point outside are the only failed requests.
    assert visit.errors and all("status of 422" in error for error in visit.errors), visit.errors
    page.context.close()


# Every control of the report view scrolled into view, and the page's end: none may lie under
# the alarm button; the alarm lies whole on the screen and apart from the tabs.
OVERLAPS = """() => {
  const alarm = document.getElementById("alarm-button");
  const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const controls = Array.from(document.querySelectorAll(
    "#view-report button, #view-report input:not([type=hidden]), #view-report textarea, " +
    "#view-report a, #view-report label.photo-pick, .tab-bar button[data-tab]"))
    .filter((el) => el.getClientRects().length && !el.hidden && getComputedStyle(el).visibility !== "hidden"
      && !(el.tagName === "INPUT" && el.closest("label.photo-pick")));
  const found = [];
  const check = (el) => {
    const a = alarm.getBoundingClientRect();
    if (hit(a, el.getBoundingClientRect())) found.push(el.id || el.textContent.trim() || el.name);
  };
  for (const el of controls) {
    if (!el.closest(".tab-bar")) el.scrollIntoView({ block: "nearest" });
    check(el);
  }
  window.scrollTo(0, document.body.scrollHeight);
  controls.forEach(check);
  const a = alarm.getBoundingClientRect();
  const whole = a.left >= 0 && a.right <= innerWidth && a.top >= 0 && a.bottom <= innerHeight;
  return { found, whole, count: controls.length };
}"""


def test_the_alarm_button_covers_no_control_on_any_phone_width(
    browser: Browser, live_server: LiveServer, world: World
) -> None:
    visit = phone(browser, live_server, world, "demo_grid_worker", PHONE_375)
    page = visit.page
    page.locator("#major-chips .chip").first.click()  # the class chips open below
    for width in (320, 375, 390, 430):
        page.set_viewport_size({"width": width, "height": 667})
        page.evaluate("window.scrollTo(0, 0)")
        result = page.evaluate(OVERLAPS)
        assert result["count"] > 15, result
        assert result["found"] == [], (width, result)
        assert result["whole"], width
        if width == 375:
            page.locator("#gps-refresh").scroll_into_view_if_needed()
            visit.screenshot("worker-alarm-375")
    # It still raises the alarm from its slot in the tab bar.
    page.locator("#alarm-button").click()
    expect(page.locator("#alarm-dialog")).to_be_visible()
    page.locator("#alarm-dialog").get_by_role("button", name="取消").click()
    expect(page.locator("#alarm-dialog")).to_be_hidden()
    visit.assert_clean()
    page.context.close()


def verify_on_the_desk(
    browser: Browser, live_server: LiveServer, event: dict[str, Any], **context: Any
) -> tuple[Visit, Locator]:
    """demo_grid_worker's event page: 核查 with a photo without GPS, 我已到现场核实, 提交."""
    visit = open_visit(browser, live_server, DESKTOP, locale="zh-CN", **context)
    sign_in(visit, "demo_grid_worker", live_server.settings.demo_password, f"/events/{event['id']}")
    page = visit.page
    page.locator("#action-tabs button[data-action='verify']").click()
    form = page.locator(".action-form[data-action='verify']")
    form.locator("input[type=file]").set_input_files(payload("check.jpg", JPEG_PHOTO))
    form.locator("input[name=confirmed]").check()
    form.get_by_role("button", name="提交").click()
    return visit, form


def test_verifying_on_the_desktop_event_page_sends_where_the_computer_is(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    """核查通过 from the event page (a laptop on site): a photo without GPS of its own is placed
    by the browser's position, sent with the upload; without a position the form says why."""
    lat, lng = world.grid_point
    # Refused a position: the photo cannot be placed, nothing closes, the form says so.
    event = file_handled_event(api, world, f"桌面核查-{uuid.uuid4().hex[:6]}")
    visit, form = verify_on_the_desk(browser, live_server, event)
    expect(form.locator(".form-error")).to_contain_text("照片没有位置信息")
    assert api.get("demo_operator", f"/events/{event['id']}")["status"] == "handled"
    visit.page.context.close()

    # On site with a position: the upload carries it and the event closes.
    event = file_handled_event(api, world, f"桌面核查-{uuid.uuid4().hex[:6]}")
    visit, _ = verify_on_the_desk(
        browser, live_server, event, permissions=["geolocation"],
        geolocation={"latitude": lat, "longitude": lng, "accuracy": 15},
    )  # fmt: skip
    expect(visit.page.locator("#event-badges")).to_contain_text("已结案")
    closed = api.get("demo_operator", f"/events/{event['id']}")
    assert closed["status"] == "closed"
    verify = [a for a in closed["attachments"] if a["kind"] == "verify"]
    assert len(verify) == 1 and abs(verify[0]["device_lat"] - lat) < 1e-6
    assert abs(verify[0]["device_lng"] - lng) < 1e-6 and verify[0]["device_accuracy"] == 15
    assert verify[0]["device_at"]
    visit.assert_clean()
    visit.page.context.close()
