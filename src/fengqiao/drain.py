"""A process's graceful drain: once it begins (SIGTERM from a rolling restart, say), the load
balancer's health check is told the process is leaving, requests in flight finish, and every open
live stream tells its browser to reconnect (to another instance) and ends.

Process-wide state, shared by the server's shutdown hook (which begins the drain) and the parts
that must react to it (the health check, the live streams' fan-out).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

_draining = threading.Event()
_listeners: list[Callable[[], None]] = []
_guard = threading.Lock()


def begin_drain() -> None:
    """Begin draining this process; idempotent. Each listener is called once, in order."""
    with _guard:
        if _draining.is_set():
            return
        _draining.set()
        listeners = list(_listeners)
    for listener in listeners:
        listener()


def draining() -> bool:
    """Whether this process has begun draining."""
    return _draining.is_set()


def on_drain(listener: Callable[[], None]) -> None:
    """Call `listener` (from the thread that begins the drain) when the drain begins: at once if
    it already has. A listener must not block; waking an event loop is
    `loop.call_soon_threadsafe(...)`."""
    with _guard:
        if not _draining.is_set():
            _listeners.append(listener)
            return
    listener()


def remove_listener(listener: Callable[[], None]) -> None:
    """Forget a listener (a closed stream's, say); nothing when it is not registered."""
    with _guard, contextlib.suppress(ValueError):
        _listeners.remove(listener)


def reset() -> None:
    """Forget the drain and its listeners (tests that drain a process they keep using)."""
    with _guard:
        _draining.clear()
        _listeners.clear()
