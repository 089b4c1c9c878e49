"""The inspections' fixtures: the event center's app on a stopped clock, the demo people."""

from tests.events.conftest import api, clock, world

__all__ = ["api", "clock", "world"]
