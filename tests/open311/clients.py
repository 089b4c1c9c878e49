"""The three Open311 clients on PyPI, importable on Python 3.11.

`georeport` (0.3.1) imports as it is. `three` (0.8.0) and `open311` (1.1) were written for
Python 2 and fail on import (or on their first XML answer); rather than keep edited copies of
their sources in the repository, `patched` copies the installed package into a temporary folder
under a new name, applies the smallest edits below (each one says what Python 2 thing it
replaces), and imports the copy. Every edit must apply, so a new release of a client fails
loudly here instead of silently running unpatched.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

Patches = dict[str, list[tuple[str, str]]]

# relaxml (three's XML reader): ElementTree dropped Element.getchildren() in Python 3.9.
RELAXML: Patches = {
    "converter.py": [("node.getchildren()", "list(node)")],
}

THREE: Patches = {
    "core.py": [
        # itertools.ifilter is Python 2's lazy filter; the builtin is lazy in Python 3.
        ("from itertools import ifilter", "ifilter = filter"),
        # dict.keys() is a view in Python 3 and cannot be indexed.
        ("first = content.keys()[0]", "first = list(content.keys())[0]"),
        # Its XML reader, patched as above.
        ("from relaxml import xml", "from patched_relaxml import xml"),
    ],
}

OPEN311: Patches = {
    # Python 2's implicit relative imports.
    "__init__.py": [("from open311 import Open311", "from .open311 import Open311")],
    "open311.py": [
        ("from api import API", "from .api import API"),
        ("from api.api import urlopen, urlencode", "from .api.api import urlopen, urlencode"),
        # urlopen's body must be bytes in Python 3.
        ("post_data = urlencode(kwargs)", "post_data = urlencode(kwargs).encode()"),
    ],
    "api/__init__.py": [
        ("from api import API", "from .api import API"),
        ("from api import urlopen, urlencode", "from .api import urlopen, urlencode"),
    ],
    "api/api.py": [("from xml2dict import xml2dict", "from .xml2dict import xml2dict")],
    "api/xml2dict/__init__.py": [
        ("from object_dict import object_dict", "from .object_dict import object_dict")
    ],
    "api/xml2dict/xml2dict.py": [
        ("from object_dict import object_dict", "from .object_dict import object_dict"),
        ("node.getchildren()", "list(node)"),
    ],
}


def _source(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, f"{package} is not installed"
    return Path(next(iter(spec.submodule_search_locations)))


def patched(package: str, patches: Patches, folder: Path) -> ModuleType:
    """Import `patched_<package>`: the installed package copied to `folder` with `patches`."""
    name = f"patched_{package}"
    if name in sys.modules:
        return sys.modules[name]
    target = folder / name
    shutil.copytree(_source(package), target, ignore=shutil.ignore_patterns("__pycache__"))
    for relative, edits in patches.items():
        path = target / relative
        text = path.read_text(encoding="utf-8")
        for old, new in edits:
            assert old in text, f"{package}/{relative}: {old!r} is gone; check the new release"
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return importlib.import_module(name)


def load_three(folder: Path) -> ModuleType:
    patched("relaxml", RELAXML, folder)
    return patched("three", THREE, folder)


def load_open311(folder: Path) -> ModuleType:
    return patched("open311", OPEN311, folder)
