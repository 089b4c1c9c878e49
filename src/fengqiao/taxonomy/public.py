"""Which classes the public surfaces never offer or show (Open311, the residents' app, the public
map): the security classes named by the setting `open311_hidden_majors`. One rule for all."""

from __future__ import annotations

from collections.abc import Collection

from fengqiao.taxonomy.snapshot import Rules


def hidden_codes(rules: Rules, hidden_classes: Collection[str]) -> frozenset[str]:
    """The minor classes the public surface never shows: those named, and every minor class
    of a major class named (setting `open311_hidden_majors`; retired classes included, since
    events filed under them stay)."""
    named = set(hidden_classes)
    return frozenset(
        code for code, category in rules.categories.items()
        if code in named or category.major_code in named
    )  # fmt: skip
