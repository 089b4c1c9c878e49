"""Fixtures of the province tests: the seeded district under a city, beside a second district."""

from tests.province.world import api, clock, world

__all__ = ["api", "clock", "world"]
