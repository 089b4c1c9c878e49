"""What each role sees in the page navigation and where each role lands after login (the UI
words the pages' scripts need are served by web/labels.py)."""

from __future__ import annotations

from dataclasses import dataclass

from fengqiao.scope import ROLE_ZH as ROLE_ZH  # the user bar names the roles
from fengqiao.scope import Principal

STAFF = ("operator", "leader", "admin")
EVENT_READERS = ("operator", "leader", "admin", "handler", "unit_leader", "grid_leader")
# Who gets the phone app /m/: grid workers report and verify there, handlers sign and feed back.
PHONE_ROLES = ("grid_worker", "grid_leader", "handler")


# The pages of 工作机制 (their `page` keys): its entry is current on each of them.
MECHANISM_PAGES = ("jointops", "campaigns", "meetings", "inspections", "annual", "tasks")


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    roles: tuple[str, ...]
    key: str
    # Pages reached through this entry's page, which mark it current too (工作机制's pages).
    covers: tuple[str, ...] = ()

    def is_current(self, page: str | None) -> bool:
        return page is not None and (page == self.key or page in self.covers)


NAV: tuple[NavItem, ...] = (
    NavItem("/map", "一张图", STAFF, "map"),
    # The wall is for the room's screens: in the navigation of those who staff the room. An
    # administrator may open /wall too, but their header (twelve entries) would not fit one line.
    NavItem("/wall", "驾驶舱", ("operator", "leader"), "wall"),
    NavItem("/events", "事件中心", (*EVENT_READERS, "grid_worker", "resident"), "events"),
    NavItem("/proxy", "代办", (*STAFF, "grid_leader", "grid_worker", "resident"), "proxy"),
    NavItem("/supervision", "督办单", (*STAFF, "handler", "unit_leader"), "supervision"),
    # Tasks the caller's unit owns (meeting decisions, rectification items); the command room
    # reaches the list from 工作机制, its header being full.
    NavItem("/tasks", "督办事项", ("handler", "unit_leader"), "tasks"),
    NavItem("/analytics", "分析研判", (*STAFF, "unit_leader"), "analytics"),
    NavItem("/assessment", "考核", STAFF, "assessment"),
    NavItem("/bulletins", "每日通报", STAFF, "bulletins"),
    # 工作机制 (issue 20): one entry for the mechanisms around the loop — 联合行动, 专项整治,
    # 研判会商, 督查整改 with the standard, 年度考核 and 标杆镇街 — whose page links them with a
    # figure each; one entry each would wrap the command room's header at 1280 px.
    NavItem("/mechanisms", "工作机制", ("operator", "leader"), "mechanisms", MECHANISM_PAGES),
    NavItem("/warnings", "预警", (*STAFF, "handler", "unit_leader"), "warnings"),
    # Not for administrators: their header (with 发送失败 and 系统管理) would wrap at 1280 px;
    # they reach 会商 from the map's head like everyone in the command room.
    NavItem("/rooms", "会商", ("operator", "leader"), "rooms"),
    # Notices and leaflets (宣传); not for administrators, whose header is full (they open
    # /notices/manage from 系统管理's page head or by address).
    NavItem("/notices/manage", "宣传", ("operator", "leader"), "notices"),
    NavItem("/messages", "消息", (*EVENT_READERS, "grid_worker", "resident"), "messages"),
    NavItem("/outbox", "发送失败", ("operator", "admin"), "outbox"),
    NavItem("/m/", "手机版", PHONE_ROLES, "worker"),
    NavItem("/admin", "系统管理", ("admin",), "admin"),
)


def nav_for(principal: Principal) -> list[NavItem]:
    return [item for item in NAV if principal.has_any(*item.roles)]


def landing(principal: Principal) -> str:
    """The first page after login: the map for the command room, the app for grid workers."""
    if principal.has_any(*STAFF):
        return "/map"
    if principal.has_any("grid_worker", "grid_leader"):
        return "/m/"
    if principal.has_any("handler", "unit_leader"):
        return "/events?task=inbox"
    if principal.has_any("resident"):
        return "/r/"  # the residents' app: 随手拍, 我的上报, 身边事, 通知
    return "/messages"
