"""Message templates: data in Chinese (templates.json), filled from an outbox row's payload."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

TEMPLATES_FILE = Path(__file__).with_name("templates.json")
# What the outbox page calls the templates people look for there (the others show their name).
TEMPLATE_ZH = {
    "reminder": "到期提醒",
    "overdue": "超期",
    "supervision": "督办",
    "escalation": "升级",
    "urgent": "紧急报警",
    "warning": "预警",
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
