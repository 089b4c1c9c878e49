"""Imports point one way (CONVENTIONS.md, docs/architecture.md): every module's imports, at the
top and inside functions, are read from the source; a package may import its own layer or the
layers below it, never one above, and no two packages may import each other, however indirectly.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "fengqiao"

# Bottom to top. A top-level module (fengqiao/deps.py) is its own "package".
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "wiring",
        frozenset({
            "config", "config_scale", "clock", "db", "errors", "paging", "bounds", "logs", "metrics", "exports",
            "cli_support",
            "readcache", "ratelimit", "scope", "crs", "deps", "jobs", "migrate", "health",
            "playback", "drain", "fanout",
            "serving",
        }),
    ),
    ("org", frozenset({"org"})),
    ("auth", frozenset({"auth"})),
    ("places and time", frozenset({"geo", "sla", "basemap"})),
    ("taxonomy", frozenset({"taxonomy"})),
    ("outbox", frozenset({"outbox"})),
    ("events", frozenset({"events"})),
    (
        "domains",
        frozenset({
            "supervision", "notify", "analytics", "warnings", "assessment", "patrol", "command",
            "intake", "iot", "cameras", "catalogue", "open311", "ops", "calls", "search",
            "residents",
            "publicmap",
            "notices",
            "jointops",
            "tasks",
            "campaigns",
            "meetings",
            "standards", "inspections",
            "partitions",
        }),
    ),
    (
        "built on calls",
        frozenset({"rooms"}),
    ),
    (
        "top",
        frozenset({
            "web", "cli", "audit_cli", "db_cli", "docs_cli", "jobs_cli", "demo", "api", "app",
            "models", "backup", "migrations",
            "worker",
        }),
    ),
)  # fmt: skip
LAYER_OF = {package: index for index, (_, packages) in enumerate(LAYERS) for package in packages}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. fengqiao.events.filing
    line: int
    target: str  # the imported module, e.g. fengqiao.analytics.rollups

    def where(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, text: str | None = None) -> Iterator[Import]:
    """Every `import` and `from … import` in the file (or in `text`, as if it were that file),
    wherever it sits: functions and `if TYPE_CHECKING:` blocks included."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    source = path.read_text() if text is None else text
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # `from fengqiao.analytics import rollups` names a module: report the module.
            for alias in node.names:
                named = f"{target}.{alias.name}"
                yield Import(module, node.lineno, named if is_module(named) else target)


def is_module(name: str) -> bool:
    parts = name.split(".")
    if parts[0] != "fengqiao":
        return False
    path = SRC.joinpath(*parts[1:])
    return path.is_dir() or path.with_suffix(".py").is_file()


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "fengqiao" and len(parts) > 1 else None


@cache
def all_imports() -> tuple[Import, ...]:
    return tuple(found for path in sorted(SRC.rglob("*.py")) for found in imports_of(path))


def package_edges(found: Iterable[Import]) -> dict[tuple[str, str], list[Import]]:
    edges: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for item in found:
        source, target = package_of(item.module), package_of(item.target)
        if source and target and source != target:
            edges[(source, target)].append(item)
    return edges


def upward(found: Iterable[Import]) -> list[str]:
    """The imports from a lower layer into a higher one."""
    return sorted({
        item.where()
        for (source, target), items in package_edges(found).items()
        if LAYER_OF[source] < LAYER_OF[target]
        for item in items
    })  # fmt: skip


def cycles(found: Iterable[Import]) -> list[list[str]]:
    """The strongly connected groups of packages (Tarjan): each group is a cycle."""
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in package_edges(found):
        graph[source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_every_package_has_a_layer() -> None:
    packages = {package_of(module_name(path)) for path in SRC.rglob("*.py")}
    assert sorted(p for p in packages if p is not None and p not in LAYER_OF) == []


def test_no_layer_imports_a_higher_one() -> None:
    assert upward(all_imports()) == []


def test_no_package_cycle() -> None:
    assert cycles(all_imports()) == []


@pytest.mark.parametrize(
    ("planted", "expected"),
    [
        # events reaching up into analytics, inside a function
        (
            "def f():\n    from fengqiao.analytics import rollups\n",
            "fengqiao.events.planted:2 imports fengqiao.analytics.rollups",
        ),
        ("from fengqiao import web\n", "fengqiao.events.planted:1 imports fengqiao.web"),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..notify import sender\n",
            "fengqiao.events.planted:3 imports fengqiao.notify.sender",
        ),
    ],
)
def test_a_planted_upward_import_is_caught(planted: str, expected: str) -> None:
    path = SRC / "events" / "planted.py"
    assert expected not in upward(all_imports())
    assert expected in upward([*all_imports(), *imports_of(path, planted)])


def test_a_planted_cycle_is_caught() -> None:
    # org reaching into auth while auth imports org, through a module that is not on disk
    planted = imports_of(SRC / "org" / "planted.py", "from fengqiao.auth import models\n")
    assert ["auth", "org"] in cycles([*all_imports(), *planted])
    assert ["auth", "org"] not in cycles(all_imports())
