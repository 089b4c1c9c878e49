"""Server-rendered pages and their static assets (vendored from npm at install time)."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"
