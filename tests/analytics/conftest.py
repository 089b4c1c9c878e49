"""The event center's fixtures (an app on a stopped clock, the demo people, the desk)."""

from tests.events.conftest import api, clock, desk, world

__all__ = ["api", "clock", "desk", "world"]
