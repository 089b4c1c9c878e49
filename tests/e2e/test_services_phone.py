"""办事指南 (/services) on a 390×844 phone: the page never scrolls sideways, the search form and its
words box take the screen's width (the box used to keep its desktop size, a third of the screen,
beside a checkbox pushed above its words), and the results, as cards, are full width too."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer, open_visit

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def width_of(page: Page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box["x"], box["width"]


def assert_no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide"


def test_the_catalogue_fills_a_phone_without_sideways_scroll(
    browser: Browser, live_server: LiveServer
) -> None:
    visit = open_visit(
        browser, live_server, PHONE,  # type: ignore[arg-type]
        has_touch=True, is_mobile=True, locale="zh-CN",
    )  # fmt: skip
    page = visit.page
    page.goto(f"{live_server.base_url}/services")
    rows = page.locator("#service-table tbody tr[data-id]")
    expect(rows).to_have_count(50)
    assert_no_sideways_scroll(page)

    form_x, form_width = width_of(page, "#service-search")
    assert form_x <= 16 and form_x + form_width >= 390 - 16, (form_x, form_width)
    _, box_width = width_of(page, "#service-search [name=q]")
    assert box_width >= form_width - 2 * 20, (box_width, form_width)  # the form's padding only
    for name in ("level", "category"):  # the two filters side by side, each half the form
        _, select_width = width_of(page, f"#service-search [name={name}]")
        assert select_width >= form_width * 0.4, (name, select_width)
    _, button_width = width_of(page, "#service-search button[type=submit]")
    assert button_width >= form_width - 2 * 20
    # The checkbox sits on the line of its words, not above them.
    check = page.locator("#service-search [name=proxy]").bounding_box()
    words = page.locator("#service-search .inline-field").bounding_box()
    assert check and words and words["height"] < 2.2 * check["height"] + 8, (check, words)

    page.locator("#service-search [name=q]").fill("低保")
    page.locator("#service-search").get_by_role("button", name="查询").tap()
    expect(page.locator("#service-table tbody")).to_contain_text("最低生活保障申请")
    assert_no_sideways_scroll(page)
    table_x, table_width = width_of(page, "#service-table")
    assert table_x <= 16 and table_x + table_width >= 390 - 16, (table_x, table_width)
    _, card_width = width_of(page, "#service-table tbody tr[data-id]")
    assert card_width >= table_width - 2, (card_width, table_width)
    visit.screenshot("phone-services-search")
    visit.assert_clean()
    page.context.close()
