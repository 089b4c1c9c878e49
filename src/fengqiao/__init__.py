"""Fengqiao (枫桥): grid-based grassroots governance."""

__version__ = "0.1.0"
