"""Copy the browser libraries installed by npm into the package's static folder.

Run after `npm ci` (the Makefile's `assets` target does both). The result is
src/fengqiao/web/static/vendor/ (git-ignored), served at /static/vendor/:

    leaflet.js  leaflet.css  images/   (leaflet.css refers to images/ next to itself)
    echarts.min.js
    leaflet.markercluster.js  MarkerCluster.css  MarkerCluster.Default.css   (clustered layers)
    swagger-ui-bundle.js  swagger-ui.css   (the /docs page, served locally instead of a CDN)
    hls.min.js   (live camera video in the page: HLS over Media Source Extensions)

Standard library only, so it runs before the virtualenv exists. Idempotent: files whose
content is already the same are left alone, and stale files in vendor/images/ are removed.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NODE_MODULES = REPO_ROOT / "node_modules"
DEFAULT_DEST = REPO_ROOT / "src" / "fengqiao" / "web" / "static" / "vendor"

# (path inside node_modules, name inside vendor/)
FILES: tuple[tuple[str, str], ...] = (
    ("leaflet/dist/leaflet.js", "leaflet.js"),
    ("leaflet/dist/leaflet.css", "leaflet.css"),
    ("echarts/dist/echarts.min.js", "echarts.min.js"),
    ("leaflet.markercluster/dist/leaflet.markercluster.js", "leaflet.markercluster.js"),
    ("leaflet.markercluster/dist/MarkerCluster.css", "MarkerCluster.css"),
    ("leaflet.markercluster/dist/MarkerCluster.Default.css", "MarkerCluster.Default.css"),
    ("swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-bundle.js"),
    ("swagger-ui-dist/swagger-ui.css", "swagger-ui.css"),
    ("hls.js/dist/hls.min.js", "hls.min.js"),
)
# (folder inside node_modules, folder inside vendor/)
FOLDERS: tuple[tuple[str, str], ...] = (("leaflet/dist/images", "images"),)


class VendorError(Exception):
    """A source file is missing, so the front end would be served broken."""


def _copy_file(source: Path, target: Path) -> bool:
    """Copy one file unless the target already has the same content; True if copied."""
    if target.is_file() and filecmp.cmp(source, target, shallow=False):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    return True


def _mirror_folder(source: Path, target: Path) -> int:
    """Make target hold exactly the files of source; return how many files changed."""
    changed = 0
    wanted = {path.relative_to(source) for path in source.rglob("*") if path.is_file()}
    for relative in sorted(wanted):
        changed += _copy_file(source / relative, target / relative)
    if target.is_dir():
        for path in sorted(target.rglob("*"), reverse=True):
            relative = path.relative_to(target)
            if path.is_file() and relative not in wanted:
                path.unlink()
                changed += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return changed


def vendor(*, node_modules: Path, dest: Path) -> int:
    """Copy every needed dist file from node_modules into dest; return how many changed."""
    if not node_modules.is_dir():
        raise VendorError(
            f"{node_modules} does not exist: run `npm ci` (or `make assets`) in {REPO_ROOT} first"
        )
    missing = [
        str(node_modules / relative)
        for relative, _ in (*FILES, *FOLDERS)
        if not (node_modules / relative).exists()
    ]
    if missing:
        raise VendorError(
            "missing in node_modules (run `npm ci` to match package-lock.json):\n  "
            + "\n  ".join(missing)
        )
    changed = 0
    for relative, name in FILES:
        changed += _copy_file(node_modules / relative, dest / name)
    for relative, name in FOLDERS:
        changed += _mirror_folder(node_modules / relative, dest / name)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node-modules", type=Path, default=DEFAULT_NODE_MODULES)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    args = parser.parse_args(argv)
    try:
        changed = vendor(node_modules=args.node_modules, dest=args.dest)
    except VendorError as error:
        print(f"vendor_assets: error: {error}", file=sys.stderr)
        return 1
    print(f"vendor_assets: {args.dest} up to date ({changed} file(s) changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
