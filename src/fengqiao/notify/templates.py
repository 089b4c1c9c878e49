"""Message templates: data in Chinese (templates.json), filled from an outbox row's payload,
and the link a message carries, put together when it is sent or read.

A payload names the page it is about by `path` ("/events/12"); the configured public address
(`FENGQIAO_PUBLIC_BASE_URL`) goes in front when the message is rendered, so a stored row never
pins the address it was queued under. A payload that still carries an absolute `link` (older
rows, other queuers) is moved onto the configured address the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

TEMPLATES_FILE = Path(__file__).with_name("templates.json")
# What the outbox page calls the templates people look for there (the others show their name).
TEMPLATE_ZH = {
    "dispatched": "新交办",
    "returned": "回退",
    "to_verify": "待核查",
    "rework": "返工",
    "accepted": "已受理",
    "rejected": "不予受理",
    "closed": "已结案",
    "resident_accepted": "群众：已受理",
    "resident_rejected": "群众：不予受理",
    "resident_closed": "群众：已办结",
    "resident_progress": "群众：新进展",
    "reminder": "到期提醒",
    "overdue": "超期",
    "supervision": "督办",
    "escalation": "升级",
    "urgent": "紧急报警",
    "alarm_climb": "报警升级",
    "warning": "预警",
    "warning_reminder": "预警提醒",
    "warning_climb": "预警升级",
    "room_invite": "会商邀请",
    "sms_code": "登录验证码",
    "task_assigned": "督办事项交办",
    "task_reminder": "督办事项到期提醒",
    "task_overdue": "督办事项超期",
    "meeting_missed": "会商未按期召开",
}


@dataclass(frozen=True)
class Template:
    name: str
    subject: str
    text: str


class _Blank(dict[str, Any]):
    """Missing fields render as an empty string rather than failing the send."""

    def __missing__(self, key: str) -> str:
        return ""


@lru_cache
def templates() -> dict[str, Template]:
    data = json.loads(TEMPLATES_FILE.read_text(encoding="utf-8"))
    return {
        name: Template(name=name, subject=t["subject"], text=t["text"])
        for name, t in data["templates"].items()
    }


def render(name: str, payload: dict[str, Any]) -> tuple[str, str]:
    """(subject, text) of template `name` filled from `payload`."""
    template = templates()[name]
    values = _Blank(payload)
    return template.subject.format_map(values), template.text.format_map(values)


def path_of(payload: dict[str, Any], base_url: str) -> str:
    """The page a payload points at, as a path ("/events/12?x=1"), or "" for none."""
    path = str(payload.get("path") or "")
    if path:
        return path
    link = str(payload.get("link") or "")
    base = base_url.rstrip("/")
    if base and link.startswith(base + "/"):
        return link[len(base) :]
    parts = urlsplit(link)
    if parts.scheme in ("http", "https"):
        return urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    return link


def absolute(path: str, base_url: str) -> str:
    """A path on the configured public address (anything else is returned as it is)."""
    return base_url.rstrip("/") + path if path.startswith("/") else path


def render_for(
    name: str, payload: dict[str, Any], *, base_url: str, with_link: bool = True
) -> tuple[str, str, str]:
    """(subject, text, link) of template `name`: the link on the configured address, written
    into the text unless `with_link` is false (the in-app inbox shows it as a button)."""
    link = absolute(path_of(payload, base_url), base_url)
    subject, text = render(name, {**payload, "link": link if with_link else ""})
    return subject, text, link
