"""Channels: plugins that deliver outbox messages, behind one interface.

A channel is a class registered under the `fengqiao.channels` entry-point group (see
pyproject.toml); it is built once per worker with the settings and the database and asked to
`send` one message at a time. `FENGQIAO_DELIVER_VIA` says which plugin delivers each kind of
message, so a development machine logs SMS instead of sending them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

from fengqiao.config import Settings
from fengqiao.db import Database

ENTRY_POINT_GROUP = "fengqiao.channels"


@dataclass(frozen=True)
class Message:
    """One outbox row, rendered: what a channel needs to deliver it."""

    id: int
    channel: str  # the kind of message (sms, email, app, log)
    recipient: str
    user_id: int | None
    template: str
    subject: str
    text: str
    link: str  # on the configured public address (FENGQIAO_PUBLIC_BASE_URL), at send time
    event_id: int | None
    payload: dict[str, Any] = field(default_factory=dict)
    # The same on every send of this message: channels pass it on (an `Idempotency-Key` header,
    # the email's Message-ID) so a gateway can drop a repeat after a worker died mid-send.
    idempotency_key: str = ""
    # The request that queued the message, if one did: its sends are logged under that id.
    request_id: str | None = None
    # The page the link opens, without the address ("/events/12"): what the inbox stores.
    path: str = ""


class ChannelError(Exception):
    """Delivery failed. `retry=False` means trying again cannot help (a malformed recipient)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class Channel(Protocol):
    """What every channel plugin provides."""

    name: str

    def send(self, message: Message) -> None:
        """Deliver the message or raise ChannelError."""

    def close(self) -> None:
        """Release connections."""


class ChannelFactory(Protocol):
    def __call__(self, *, settings: Settings, database: Database) -> Channel: ...


def available() -> dict[str, ChannelFactory]:
    """Installed channel plugins by name."""
    return {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_channels(settings: Settings, database: Database) -> dict[str, Channel]:
    """One plugin instance per kind of message, as `deliver_via` maps them."""
    plugins = available()
    missing = sorted({name for name in settings.deliver_via.values() if name not in plugins})
    if missing:
        raise ValueError(
            f"FENGQIAO_DELIVER_VIA names channel plugins that are not installed: {missing}; "
            f"installed: {sorted(plugins)}"
        )
    built: dict[str, Channel] = {}
    for plugin in sorted(set(settings.deliver_via.values())):
        built[plugin] = plugins[plugin](settings=settings, database=database)
    return {kind: built[plugin] for kind, plugin in settings.deliver_via.items()}
