"""Org codes: GB/T 2260 province/city/district, +3 town, +3 village, +3 grid, and their numbering.

A province's 6 digits end in "0000" (330000), a city's in "00" but not "0000" (330600), a
district's do not end in "00" (330603). Pure functions, shared by the importer, the editor and
the demo seed.
"""

from __future__ import annotations

from collections.abc import Sequence

from fengqiao.org.models import CODE_LENGTH

KIND_BY_LENGTH = {9: "town", 12: "village", 15: "grid"}
PARENT_KIND = {
    "city": "province",
    "district": "city",
    "town": "district",
    "village": "town",
    "grid": "village",
}
# The kinds whose codes are 6-digit GB/T 2260 administrative division codes.
DIVISION_KINDS = ("province", "city", "district")


def _division_kind(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "district"


def kind_of_code(code: str) -> str | None:
    """The kind a code says (`province` … `grid`), or None when it is not a code."""
    if not code.isascii() or not code.isdigit():
        return None
    if len(code) == 6:
        if code.startswith("00") or code == "000000":
            return None
        return _division_kind(code)
    return KIND_BY_LENGTH.get(len(code))


def parent_code(code: str) -> str | None:
    """The parent's code: 330603 → 330600 → 330000 → None; longer codes lose their last 3 digits."""
    kind = kind_of_code(code)
    if kind is None or kind == "province":
        return None
    if kind == "city":
        return code[:2] + "0000"
    if kind == "district":
        return code[:4] + "00"
    return code[:-3]


def district_code(code: str) -> str | None:
    """The 6-digit code of the district a town, village or grid code lies in (None above it)."""
    kind = kind_of_code(code)
    if kind is None or kind in ("province", "city"):
        return None
    return code[:6]


def code_problem(code: str, kind: str, parent: str | None = None) -> str | None:
    """Why `code` is not a valid code for a unit of `kind` under `parent`, or None when it is."""
    expected = CODE_LENGTH.get(kind)
    if expected is None:
        return f"unknown kind {kind!r}"
    if not code.isascii() or not code.isdigit():
        return "code must be digits only"
    if len(code) != expected:
        return f"a {kind} code has {expected} digits, got {len(code)}"
    if kind in DIVISION_KINDS:
        if code.startswith("00"):
            return "a division code may not start with 00"
        found = _division_kind(code)
        if found != kind:
            shapes = {
                "province": "end in 0000",
                "city": "end in 00 but not 0000",
                "district": "not end in 00",
            }
            return f"a {kind} code must {shapes[kind]} ({code} is a {found} code)"
    elif code.endswith("000"):
        return "the last three digits of a code may not be 000"
    if parent is not None and parent_code(code) != parent:
        prefix = {"city": parent[:2], "district": parent[:4]}.get(kind, parent)
        return f"code must start with its parent's code {prefix}"
    return None


def child_code(parent: str, sequence: int) -> str:
    """The code of the `sequence`-th child (1-based) of `parent` (a district or below)."""
    if not 1 <= sequence <= 999:
        raise ValueError("a sequence runs from 1 to 999")
    return f"{parent}{sequence:03d}"


def reading_order(centroids: Sequence[tuple[float, float]], row_height: float) -> list[int]:
    """Indices of `centroids` (lng, lat) numbered west→east, then north→south.

    Centroids fall into rows `row_height` degrees tall counted from the northernmost one; inside
    a row they run west to east. Ties break by latitude, then by input order, so the order is
    deterministic.
    """
    if not centroids:
        return []
    if row_height <= 0:
        raise ValueError("row_height must be positive")
    top = max(lat for _, lat in centroids)

    def key(i: int) -> tuple[int, float, float, int]:
        lng, lat = centroids[i]
        return (int((top - lat) // row_height), lng, -lat, i)

    return sorted(range(len(centroids)), key=key)
