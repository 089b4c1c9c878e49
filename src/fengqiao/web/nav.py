"""What each role sees in the page navigation, where each role lands after login, and the UI
words the pages' scripts need (taken from the domain's own tables, so they never drift)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fengqiao.events import service as event_service
from fengqiao.events import workflow
from fengqiao.events.escalation import RUNG_ZH
from fengqiao.scope import Principal
from fengqiao.supervision import service as supervision_service

ROLE_ZH = {
    "grid_worker": "网格员", "grid_leader": "网格长", "operator": "指挥室坐席",
    "handler": "处置人员", "unit_leader": "单位负责人", "leader": "领导", "admin": "管理员",
    "resident": "群众", "device": "设备",
}  # fmt: skip

STAFF = ("operator", "leader", "admin")
EVENT_READERS = ("operator", "leader", "admin", "handler", "unit_leader", "grid_leader")


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    roles: tuple[str, ...]
    key: str


NAV: tuple[NavItem, ...] = (
    NavItem("/map", "一张图", STAFF, "map"),
    NavItem("/events", "事件中心", (*EVENT_READERS, "grid_worker", "resident"), "events"),
    NavItem("/proxy", "代办", (*STAFF, "grid_leader", "grid_worker", "resident"), "proxy"),
    NavItem("/supervision", "督办单", (*STAFF, "handler", "unit_leader"), "supervision"),
    NavItem("/analytics", "分析研判", (*STAFF, "unit_leader"), "analytics"),
    NavItem("/assessment", "考核", STAFF, "assessment"),
    NavItem("/bulletins", "每日通报", STAFF, "bulletins"),
    NavItem("/warnings", "预警", (*STAFF, "handler", "unit_leader"), "warnings"),
    NavItem("/messages", "消息", (*EVENT_READERS, "grid_worker", "resident"), "messages"),
    NavItem("/outbox", "发送失败", ("operator", "admin"), "outbox"),
    NavItem("/m/", "网格员 App", ("grid_worker", "grid_leader"), "worker"),
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
        return "/events"
    return "/messages"


def labels() -> dict[str, Any]:
    """Words the scripts show, from the same tables the API and exports use."""
    return {
        "status": event_service.STATUS_ZH,
        "source": event_service.SOURCE_ZH,
        "actions": {t.action: t.name_zh for t in workflow.TRANSITIONS}
        | {
            "report": "上报",
            "remind": "到期提醒",
            "overdue": "超期亮红灯",
            "supervise": "督办",
            "attach": "补充照片",
            "iot_alarm": "设备告警",
            "iot_repeat": "设备重复告警",
            "iot_recovery": "设备报告恢复",
        },
        "rungs": list(RUNG_ZH),
        "lights": {"green": "绿灯", "yellow": "黄灯", "red": "红灯"},
        "platforms": {
            "governance": "综治工作",
            "market": "市场监管",
            "enforcement": "综合执法",
            "service": "便民服务",
        },
        "levels": {
            "1": "一级（网格自办）",
            "2": "二级（村社/单位）",
            "3": "三级（镇街）",
            "4": "四级（区级）",
        },
        "orderKinds": supervision_service.KIND_ZH,
        "orderStatus": supervision_service.STATUS_ZH,
        "roles": ROLE_ZH,
    }
