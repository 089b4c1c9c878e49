"""docs/recipes.md says which files to touch for each kind of change: every path it names must
exist, so the page cannot drift from the code unnoticed."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "docs" / "recipes.md"
# A backquoted repository path: starts at a top-level folder, may end in a file name.
PATH = re.compile(r"`((?:src|tests|docs|bench|scripts)/[^`\s]*)`")


def named_paths() -> list[str]:
    text = RECIPES.read_text(encoding="utf-8")
    # `<domain>` and `<page>` are placeholders, not paths.
    return [path for path in PATH.findall(text) if "<" not in path]


def test_the_recipes_name_files_that_exist() -> None:
    paths = named_paths()
    assert len(paths) >= 20
    assert [path for path in paths if not (ROOT / path).exists()] == []


def test_a_workflow_action_touches_at_most_four_files() -> None:
    text = RECIPES.read_text(encoding="utf-8")
    section = text.split("## A workflow action", 1)[1].split("\n## ", 1)[0]
    steps = re.findall(r"^\d+\. `([^`]+)`", section, re.M)
    assert 1 <= len(steps) <= 4, steps
