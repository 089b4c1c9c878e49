"""The administration pages in a real browser: every section lists its rows, edits save and show
after a reload, the server's refusals land on the form field by field, a calendar override comes
and goes, a new user can log in, names are shown as text, and only administrators get in."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Locator, Page, Request, Route, expect

from fengqiao.demo.seed import demo_accounts
from scripts.screenshot import log_in
from tests.e2e.conftest import Api, LiveServer, Visit, sign_in

pytestmark = pytest.mark.e2e

ADMIN = next(username for username, role, _ in demo_accounts() if role == "admin")
SECTIONS = {
    "grids": "网格",
    "users": "用户",
    "units": "责任单位",
    "categories": "事件分类",
    "rules": "流转规则",
    "sla": "时限策略",
    "holidays": "节假日",
}
# The nav lists every section; 底图 is one setting, not a list (tests/e2e/test_basemap.py).
NAV = [*list(SECTIONS.values())[:6], "区县分类设置", "节假日", "底图"]
ROWS = "#admin-table tbody tr.admin-row"
# Chromium logs each refused API call as a failed resource; nothing else may go wrong.
REFUSED = re.compile(r"status of (401|403|409|422)")


def open_admin(visit: Visit, live_server: LiveServer, path: str) -> Page:
    """Log in as the demo administrator straight onto an admin page and wait until it is drawn."""
    sign_in(visit, ADMIN, live_server.settings.demo_password, landing=path)
    page = visit.page
    page.locator("#admin-page[data-ready=true]").wait_for()
    return page


def cell(page: Page, row: int, header: str) -> Locator:
    """A column (by its header) of a row of the admin table."""
    headers = page.locator("#admin-table thead th").all_inner_texts()
    return page.locator(ROWS).nth(row).locator("td").nth(headers.index(header))


def log_out(page: Page) -> None:
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(re.compile("/login"))


def only_refusals(visit: Visit) -> None:
    assert all(REFUSED.search(message) for message in visit.errors), visit.errors
    assert visit.foreign_requests == []


@pytest.mark.parametrize("section", list(SECTIONS))
def test_each_section_opens_and_lists_rows(
    visit: Visit, live_server: LiveServer, section: str
) -> None:
    # 2025 is a year the official holiday calendar knows, whatever today's date.
    query = "?year=2025" if section == "holidays" else ""
    page = open_admin(visit, live_server, f"/admin/{section}{query}")
    expect(page).to_have_title(re.compile(SECTIONS[section]))
    expect(page.locator("#admin-title")).to_have_text(SECTIONS[section])
    links = page.locator("#admin-nav .admin-nav-link")
    expect(links).to_have_text(NAV)
    current = page.locator("#admin-nav .admin-nav-link[aria-current=page]")
    expect(current).to_have_count(1)
    expect(current).to_have_attribute("data-section", section)
    expect(page.locator(".main-nav .nav-link.is-current")).to_have_text("系统管理")
    assert page.locator(ROWS).count() > 0
    expect(page.locator("#admin-count")).to_contain_text("共")
    expect(page.locator("#admin-form-title")).to_contain_text("新增")
    expect(page.locator("#admin-new")).to_be_visible()
    visit.screenshot(f"admin-{section}")
    visit.assert_clean()


def test_sections_are_linked_from_one_another(visit: Visit, live_server: LiveServer) -> None:
    page = open_admin(visit, live_server, "/admin/grids")
    with page.expect_navigation():
        page.locator("#admin-nav a[data-section=sla]").click()
    page.locator("#admin-page[data-ready=true]").wait_for()
    assert page.url.endswith("/admin/sla")
    expect(page.locator("#admin-title")).to_have_text("时限策略")
    visit.assert_clean()


def test_grids_filter_by_village_and_page(visit: Visit, live_server: LiveServer, api: Api) -> None:
    # The demo's 25 grids, and one each of the towns other tests import into the shared server.
    total = api.get("admin", "/org/units", kind="grid", size=1)["total"]
    assert 25 <= total <= 40
    page = open_admin(visit, live_server, "/admin/grids")
    expect(page.locator("#admin-count")).to_have_text(f"共 {total} 条")
    expect(page.locator("#admin-page-at")).to_have_text("第 1 / 2 页")
    expect(page.locator(ROWS)).to_have_count(20)
    page.locator("#admin-pager button", has_text="下一页").click()
    expect(page.locator("#admin-page-at")).to_have_text("第 2 / 2 页")
    expect(page.locator(ROWS)).to_have_count(total - 20)

    town = page.locator("#admin-filters select[name=town]")
    # The demo's own town: other tests import towns of their own into the shared server.
    town.select_option(label="柯桥街道")
    village = page.locator("#admin-filters select[name=village]")
    expect(village).to_be_enabled()
    village.select_option(index=1)
    village_name = village.locator("option:checked").inner_text()
    expect(page.locator("#admin-page-at")).to_have_text("第 1 / 1 页")
    count = page.locator(ROWS).count()
    assert 0 < count < 25
    assert {cell(page, i, "所属村社").inner_text() for i in range(count)} == {village_name}
    assert "village=" in page.url
    visit.screenshot("admin-grids-filtered")
    visit.assert_clean()


def test_a_slow_answer_to_an_older_filter_does_not_overwrite_a_newer_one(
    visit: Visit, live_server: LiveServer
) -> None:
    # The town's list is held back until the village's list has been drawn; then it arrives late
    # and must be dropped (CI once showed the town's two pages under the village's filter).
    page = open_admin(visit, live_server, "/admin/grids")
    held: list[Route] = []

    def hold_town_only(route: Route, request: Request) -> None:
        url = request.url
        if "within=" in url and "within=330603001001" not in url and not held:
            held.append(route)
            return
        route.continue_()

    page.route(re.compile(r"/api/v1/org/units\?"), hold_town_only)
    page.locator("#admin-filters select[name=town]").select_option(label="柯桥街道")
    village = page.locator("#admin-filters select[name=village]")
    expect(village).to_be_enabled()
    village.select_option(value="330603001001")
    expect(page.locator("#admin-page-at")).to_have_text("第 1 / 1 页")
    count = page.locator(ROWS).count()
    assert 0 < count < 20
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_timeout(300)
    expect(page.locator("#admin-page-at")).to_have_text("第 1 / 1 页")
    assert page.locator(ROWS).count() == count
    expect(page.locator("#admin-page")).not_to_have_attribute("aria-busy", "true")
    page.unroute(re.compile(r"/api/v1/org/units\?"))
    visit.assert_clean()


def test_editing_a_grid_saves_and_survives_a_reload(visit: Visit, live_server: LiveServer) -> None:
    page = open_admin(visit, live_server, "/admin/grids")
    first = page.locator(ROWS).first
    code = first.get_attribute("data-key")
    assert code is not None
    first.click()
    expect(page.locator("#admin-form-title")).to_contain_text("编辑网格")
    households = page.locator("#f-households")
    new_value = 77 if households.input_value() != "77" else 78
    households.fill(str(new_value))
    page.locator("#admin-save").click()
    expect(page.locator(".toast-ok", has_text="已保存网格").last).to_be_visible()
    row = page.locator(f"{ROWS}[data-key='{code}']")
    expect(row).to_have_class(re.compile("is-selected"))
    expect(cell(page, 0, "户数")).to_have_text(str(new_value))
    page.reload()
    page.locator("#admin-page[data-ready=true]").wait_for()
    expect(cell(page, 0, "户数")).to_have_text(str(new_value))
    visit.screenshot("admin-grids-edited")
    visit.assert_clean()


def test_a_bad_household_count_is_refused_on_the_field(
    visit: Visit, live_server: LiveServer
) -> None:
    page = open_admin(visit, live_server, "/admin/grids")
    before = cell(page, 0, "户数").inner_text()
    page.locator(ROWS).first.click()
    households = page.locator("#f-households")
    writes: list[str] = []

    def record(request: Request) -> None:
        if request.method != "GET":
            writes.append(request.url)

    page.on("request", record)
    # The browser's own check: a negative count never reaches the server.
    households.fill("-5")
    page.locator("#admin-save").click()
    assert households.evaluate("(el) => el.validity.rangeUnderflow")
    assert writes == []
    # Above the grid cap but within the form's range: the server refuses and says why, in Chinese,
    # next to the field.
    households.fill("9999")
    page.locator("#admin-save").click()
    error = page.locator(".field-households .field-error")
    expect(error).to_contain_text("超过")
    expect(error).to_contain_text("上限")
    expect(households).to_have_class(re.compile("is-invalid"))
    expect(page.locator("#admin-form-error")).to_contain_text("户数")
    assert len(writes) == 1
    visit.screenshot("admin-grids-refused")
    page.reload()
    page.locator("#admin-page[data-ready=true]").wait_for()
    expect(cell(page, 0, "户数")).to_have_text(before)
    only_refusals(visit)


def test_a_new_grid_overlapping_another_is_refused_on_its_boundary(
    visit: Visit, live_server: LiveServer
) -> None:
    page = open_admin(visit, live_server, "/admin/grids")
    count = page.locator("#admin-count").inner_text()  # other tests import towns of their own
    neighbour = page.locator(ROWS).first.get_attribute("data-key")
    assert neighbour is not None
    geometry = page.evaluate(
        "async (code) => (await FQ.api('/org/units/' + code)).geometry", neighbour
    )
    page.locator("#admin-new").click()
    expect(page.locator("#admin-form-title")).to_have_text("新增网格")
    page.locator("#f-code").fill(neighbour[:12] + "099")
    page.locator("#f-name").fill("试点新网格")
    page.locator("#f-households").fill("50")
    page.locator("#f-geometry").fill(json.dumps(geometry))
    page.locator("#admin-save").click()
    expect(page.locator(".field-geometry .field-error")).to_contain_text("重叠")
    expect(page.locator("#admin-form-error")).to_contain_text("导入被拒绝")
    expect(page.locator("#admin-count")).to_have_text(count)  # nothing stored
    visit.screenshot("admin-grids-new-refused")
    only_refusals(visit)


def test_an_sla_policy_with_an_unknown_unit_is_refused(
    visit: Visit, live_server: LiveServer
) -> None:
    page = open_admin(visit, live_server, "/admin/sla")
    before = page.locator(ROWS).all_inner_texts()
    page.locator(ROWS).nth(1).click()
    expect(page.locator("#admin-form-title")).to_contain_text("编辑时限规则")
    # An old or tampered form: the unit is not one the server knows.
    page.locator("#f-limit_unit").evaluate("(el) => el.append(new Option('两周', 'fortnights'))")
    page.locator("#f-limit_unit").select_option("fortnights")
    page.locator("#admin-save").click()
    expect(page.locator(".field-limit_unit .field-error")).to_have_text("时限单位取值无效")
    expect(page.locator("#admin-form-error")).to_contain_text("单位：时限单位取值无效")
    visit.screenshot("admin-sla-refused")
    # A yellow ratio above 1 never leaves the browser.
    page.locator("#f-yellow_ratio").fill("1.5")
    page.locator("#admin-save").click()
    assert page.locator("#f-yellow_ratio").evaluate("(el) => el.validity.rangeOverflow")
    page.reload()
    page.locator("#admin-page[data-ready=true]").wait_for()
    assert page.locator(ROWS).all_inner_texts() == before
    only_refusals(visit)


def test_editing_an_sla_policy(visit: Visit, live_server: LiveServer) -> None:
    page = open_admin(visit, live_server, "/admin/sla")
    page.locator(ROWS).nth(2).click()
    reminder = page.locator("#f-remind_before_hours")
    old = reminder.input_value()
    reminder.fill("12")
    page.locator("#admin-save").click()
    expect(page.locator(".toast-ok", has_text="已保存时限规则").last).to_be_visible()
    expect(cell(page, 2, "提醒提前")).to_have_text("12 小时")
    reminder.fill(old)
    page.locator("#admin-save").click()
    expect(page.locator(".toast-ok", has_text="已保存时限规则").last).to_be_visible()
    visit.assert_clean()


def test_a_calendar_override_is_added_and_deleted(visit: Visit, live_server: LiveServer) -> None:
    page = open_admin(visit, live_server, "/admin/holidays?year=2025")
    day = "2025-03-08"  # a Saturday the official calendar leaves as a rest day
    expect(page.locator(f"{ROWS}[data-key='{day}']")).to_have_count(0)
    page.locator("#f-day").fill(day)
    page.locator("#f-is_working").select_option("true")
    page.locator("#f-note").fill("防汛值守调休上班")
    page.locator("#admin-save").click()
    expect(page.locator(".toast-ok", has_text="已登记 2025-03-08 为工作日").last).to_be_visible()
    row = page.locator(f"{ROWS}[data-key='{day}']")
    expect(row).to_contain_text("人工调整")
    expect(row).to_contain_text("工作日")
    expect(row).to_contain_text("防汛值守调休上班")
    expect(page.locator("#admin-form-title")).to_contain_text(day)
    visit.screenshot("admin-holidays-override")

    delete = page.locator("#admin-delete")
    delete.click()
    expect(delete).to_have_text("确认删除？")
    delete.click()
    expect(page.locator(".toast-ok", has_text="恢复官方日历").last).to_be_visible()
    expect(page.locator(f"{ROWS}[data-key='{day}']")).to_have_count(0)
    expect(page.locator("#admin-form-title")).to_have_text("新增日历调整")
    visit.assert_clean()


def test_a_district_class_override_is_added_and_removed(
    visit: Visit, live_server: LiveServer
) -> None:
    """区县分类设置: the district turns a class off and gives it its own hours, then goes back."""
    page = open_admin(visit, live_server, "/admin/overrides")
    expect(page.locator("#admin-title")).to_have_text("区县分类设置")
    before = page.locator(ROWS).count()
    page.locator("#f-district_id").select_option(index=1)
    district = page.locator("#f-district_id option:checked").inner_text()
    page.locator("#f-category_code").select_option(index=1)
    page.locator("#f-limit_hours").fill("6")
    page.locator("#f-note").fill("<b>汛期</b>加快")
    page.locator("#f-enabled").uncheck()
    page.locator("#admin-save").click()
    expect(page.locator(".toast-ok", has_text="已新增").last).to_be_visible()
    expect(page.locator(ROWS)).to_have_count(before + 1)
    row = page.locator(ROWS).filter(has_text="汛期")
    expect(row).to_contain_text(district)
    expect(row).to_contain_text("停用")
    expect(row).to_contain_text("6 小时")
    expect(row).to_contain_text("沿用统一设置")
    expect(row).to_contain_text("<b>汛期</b>加快")  # text, not markup
    visit.screenshot("admin-overrides")
    # The same district and class again: refused, nothing added.
    page.locator("#admin-new").click()
    page.locator("#f-district_id").select_option(index=1)
    page.locator("#f-category_code").select_option(index=1)
    page.locator("#admin-save").click()
    expect(page.locator("#admin-form-error")).to_contain_text("本区县已有该分类的设置")
    expect(page.locator(ROWS)).to_have_count(before + 1)
    row.click()
    delete = page.locator("#admin-delete")
    expect(delete).to_have_text("恢复统一设置")
    delete.click()
    delete.click()
    expect(page.locator(".toast-ok", has_text="已恢复统一设置").last).to_be_visible()
    expect(page.locator(ROWS)).to_have_count(before)
    only_refusals(visit)


def test_a_new_user_can_log_in_until_disabled_and_their_name_is_text(
    visit: Visit, live_server: LiveServer
) -> None:
    page = open_admin(visit, live_server, "/admin/users")
    name = '张<b>三</b><img src=x onerror="window.__xss=1">'
    page.locator("#admin-new").click()
    expect(page.locator("#admin-form-title")).to_have_text("新增用户")
    page.locator("#f-username").fill("e2e_new_handler")
    page.locator("#f-name").fill(name)
    page.locator("#f-phone").fill("13800001234")
    page.locator("#f-password").fill("e2e-new-password")
    page.locator(".field-roles label.check", has_text="处置人员").click()
    home = page.locator("#f-home_town")
    home.select_option(index=1)  # the demo town
    unit = page.locator("#f-unit_code")
    squadron = unit.locator("option", has_text="综合行政执法中队").first.get_attribute("value")
    assert squadron
    unit.select_option(squadron)
    page.locator("#admin-save").click()
    expect(page.locator(".toast-ok", has_text="已新增用户").last).to_be_visible()
    expect(page.locator("#admin-form-title")).to_have_text("编辑用户：" + name)
    expect(page.locator("#f-name")).to_have_value(name)
    assert page.evaluate("window.__xss") is None
    assert page.locator("#admin-form img, #admin-table img").count() == 0
    visit.screenshot("admin-users-created")

    log_out(page)
    log_in(page, "e2e_new_handler", "e2e-new-password")
    expect(page.locator("#user-name")).to_have_text(name)
    assert page.evaluate("window.__xss") is None
    visit.assert_clean()

    # The administrator finds the account by its username and disables it: no more logins.
    log_out(page)
    page = open_admin(visit, live_server, "/admin/users?q=e2e_new_handler")
    expect(page.locator(ROWS)).to_have_count(1)
    page.locator(ROWS).first.click()
    expect(page.locator("#f-is_active")).to_be_checked()
    page.locator("#f-is_active").uncheck()
    page.locator("#admin-save").click()
    expect(page.locator(".toast-ok", has_text="已保存用户").last).to_be_visible()
    expect(cell(page, 0, "状态")).to_have_text("停用")
    log_out(page)
    log_in(page, "e2e_new_handler", "e2e-new-password")
    expect(page.locator("#login-error")).to_contain_text("账号已停用")
    only_refusals(visit)


def test_a_duplicate_username_and_missing_role_are_refused(
    visit: Visit, live_server: LiveServer
) -> None:
    page = open_admin(visit, live_server, "/admin/users")
    page.locator("#admin-new").click()
    page.locator("#f-username").fill("demo_operator")
    page.locator("#f-name").fill("重名")
    page.locator("#admin-save").click()
    # No role: the browser stops it.
    assert page.locator(".field-roles input").first.evaluate("(el) => !el.validity.valid")
    page.locator(".field-roles label.check", has_text="领导").click()
    page.locator("#admin-save").click()
    expect(page.locator("#admin-form-error")).to_contain_text("用户名已存在")
    only_refusals(visit)


def test_taken_unit_and_class_codes_are_refused(visit: Visit, live_server: LiveServer) -> None:
    page = open_admin(visit, live_server, "/admin/units")
    taken_code = cell(page, 0, "单位编码").inner_text()
    page.locator("#admin-new").click()
    page.locator("#f-code").fill(taken_code)
    page.locator("#f-name").fill("重复编码的单位")
    page.locator("#f-category").select_option("agency")
    # Unit types are picked by their Chinese names, in pinyin order; no code shows.
    unit_type = page.locator("#f-unit_type")
    names = unit_type.locator("option").all_inner_texts()[1:]
    assert "派出所" in names and not any("_" in name for name in names)
    assert names.index("村（居）委会") < names.index("派出所") < names.index("司法所")
    unit_type.select_option(label="派出所")
    page.locator("#admin-save").click()
    expect(page.locator("#admin-form-error")).to_contain_text(f"单位编码 {taken_code} 已被使用")
    total = page.locator("#admin-count").inner_text()

    with page.expect_navigation():
        page.locator("#admin-nav a[data-section=categories]").click()
    page.locator("#admin-page[data-ready=true]").wait_for()
    page.locator("#f-code").fill("0101")
    page.locator("#f-major_code").select_option("01")
    page.locator("#f-name_zh").fill("重复的小类")
    page.locator("#f-default_unit_type").select_option("village_committee")
    page.locator("#admin-save").click()
    expect(page.locator("#admin-form-error")).to_contain_text("分类 0101 已存在")
    visit.page.goto(f"{visit.base_url}/admin/units")
    page.locator("#admin-page[data-ready=true]").wait_for()
    expect(page.locator("#admin-count")).to_have_text(total)
    only_refusals(visit)


def test_editing_a_unit_duty_phone(visit: Visit, live_server: LiveServer) -> None:
    page = open_admin(visit, live_server, "/admin/units")
    page.locator(ROWS).first.click()
    expect(page.locator("#admin-form-title")).to_contain_text("编辑单位")
    duty = page.locator("#f-duty_phone")
    old = duty.input_value()
    duty.fill("值班")  # not a number: the browser's pattern check stops it
    page.locator("#admin-save").click()
    assert duty.evaluate("(el) => el.validity.patternMismatch")
    duty.fill("0575-81112222")
    page.locator("#admin-save").click()
    expect(page.locator(".toast-ok", has_text="已保存单位").last).to_be_visible()
    expect(cell(page, 0, "值班电话")).to_have_text("0575-81112222")
    visit.screenshot("admin-units-edit")
    duty.fill(old)
    page.locator("#admin-save").click()
    expect(page.locator(".toast-ok", has_text="已保存单位").last).to_be_visible()
    visit.assert_clean()


def test_a_routing_rule_position_clash_is_refused_and_a_note_saves(
    visit: Visit, live_server: LiveServer
) -> None:
    page = open_admin(visit, live_server, "/admin/rules")
    second = cell(page, 1, "规则顺序").inner_text()
    page.locator(ROWS).first.click()
    expect(page.locator("#admin-form-title")).to_contain_text("编辑规则")
    position = page.locator("#f-position")
    own = position.input_value()
    position.fill(second)
    page.locator("#admin-save").click()
    expect(page.locator("#admin-form-error")).to_contain_text("顺序号已被占用")
    position.fill(own)
    note = page.locator("#f-note")
    old_note = note.input_value()
    note.fill("<script>window.__xss=1</script>由区级部门牵头")
    page.locator("#admin-save").click()
    expect(page.locator(".toast-ok", has_text="已保存规则").last).to_be_visible()
    expect(cell(page, 0, "说明")).to_have_text("<script>window.__xss=1</script>由区级部门牵头")
    assert page.evaluate("window.__xss") is None
    visit.screenshot("admin-rules-edited")
    note.fill(old_note)
    page.locator("#admin-save").click()
    expect(cell(page, 0, "说明")).to_have_text(old_note)
    only_refusals(visit)


def test_categories_filter_by_major_class(visit: Visit, live_server: LiveServer) -> None:
    page = open_admin(visit, live_server, "/admin/categories")
    page.locator("#admin-filters select[name=major]").select_option("01")
    expect(page.locator("#admin-count")).to_have_text("共 5 条")
    assert {cell(page, i, "大类").inner_text() for i in range(5)} == {"矛盾纠纷"}
    page.locator(ROWS).first.click()
    expect(page.locator("#admin-form-title")).to_have_text("编辑分类：邻里纠纷")
    expect(page.locator("#f-default_level")).to_have_value("2")
    visit.screenshot("admin-categories-edit")
    visit.assert_clean()


def test_a_non_admin_gets_the_403_page(visit: Visit, live_server: LiveServer) -> None:
    sign_in(visit, "demo_operator", live_server.settings.demo_password, landing="/admin/grids")
    page = visit.page
    error = page.locator('#page-error[data-status="403"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("403")
    expect(page.locator("#admin-page")).to_have_count(0)
    expect(page.locator(".main-nav a[data-key=admin]")).to_have_count(0)
    visit.screenshot("admin-forbidden")
    only_refusals(visit)
