"""Org codes: 6-digit county, +3 town, +3 village, +3 grid (15 digits), and their numbering.

Pure functions, shared by the importer, the editor and the demo seed.
"""

from __future__ import annotations

from collections.abc import Sequence

from fengqiao.org.models import CODE_LENGTH

KIND_BY_LENGTH = {length: kind for kind, length in CODE_LENGTH.items()}
PARENT_KIND = {"town": "district", "village": "town", "grid": "village"}


def kind_of_code(code: str) -> str | None:
    """The kind a code's length says (`district`, `town`, `village`, `grid`), or None."""
    if not code.isascii() or not code.isdigit():
        return None
    return KIND_BY_LENGTH.get(len(code))


def parent_code(code: str) -> str | None:
    """The parent's code: the code without its last three digits (None for a district)."""
    kind = kind_of_code(code)
    if kind is None or kind == "district":
        return None
    return code[:-3]


def code_problem(code: str, kind: str, parent: str | None = None) -> str | None:
    """Why `code` is not a valid code for a unit of `kind` under `parent`, or None when it is."""
    expected = CODE_LENGTH.get(kind)
    if expected is None:
        return f"unknown kind {kind!r}"
    if not code.isascii() or not code.isdigit():
        return "code must be digits only"
    if len(code) != expected:
        return f"a {kind} code has {expected} digits, got {len(code)}"
    if kind != "district" and code.endswith("000"):
        return "the last three digits of a code may not be 000"
    if parent is not None and not code.startswith(parent):
        return f"code must start with its parent's code {parent}"
    return None


def child_code(parent: str, sequence: int) -> str:
    """The code of the `sequence`-th child (1-based) of `parent`."""
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
