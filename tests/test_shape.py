"""The code keeps its shape (CONVENTIONS.md): no source file grows past 700 lines, so a reader
finds any behaviour by domain name plus file role. Data (JSON, vendored libraries) is exempt."""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "fengqiao"
MAX_LINES = 700
CODE = ("*.py", "*.js", "*.css", "*.html")


def test_no_source_file_is_over_700_lines() -> None:
    long = {
        str(path.relative_to(SRC)): lines
        for pattern in CODE
        for path in SRC.rglob(pattern)
        if "vendor" not in path.parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
