"""Small org trees as GeoJSON, built from rectangles, for import tests."""

from __future__ import annotations

from typing import Any

DISTRICT = "330603"
TOWN = "330603001"
VILLAGE = "330603001001"


def rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
    }


def feature(code: str, name: str, geometry: dict[str, Any] | None, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **props},
        "geometry": geometry,
    }


def tree(
    cols: int = 2, rows: int = 2, *, households: int = 100, area_type: str = "rural"
) -> dict[str, Any]:
    """A district → one town → one village → cols×rows grids tiling 120.40-120.50 E, 30.00-30.10 N."""
    x0, y0, x1, y1 = 120.40, 30.00, 120.50, 30.10
    features = [
        feature(DISTRICT, "柯桥区", rect(x0, y0, x1, y1)),
        feature(TOWN, "柯桥街道", rect(x0, y0, x1, y1), area_type=area_type),
        feature(VILLAGE, "笛扬社区", rect(x0, y0, x1, y1), village_type="community"),
    ]
    dx, dy = (x1 - x0) / cols, (y1 - y0) / rows
    seq = 0
    for r in range(rows):  # north → south
        for c in range(cols):  # west → east
            seq += 1
            top = y1 - r * dy
            features.append(
                feature(
                    f"{VILLAGE}{seq:03d}",
                    f"第{seq}网格",
                    rect(
                        round(x0 + c * dx, 9),
                        round(top - dy, 9),
                        round(x0 + (c + 1) * dx, 9),
                        round(top, 9),
                    ),
                    households=households,
                    population=households * 3,
                )
            )
    return {"type": "FeatureCollection", "features": features}
