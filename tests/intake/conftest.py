from tests.events.conftest import api, clock, desk, world

__all__ = ["api", "clock", "desk", "world"]
