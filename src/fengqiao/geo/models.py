"""Map layers: points of interest and cameras shown on the one-map."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base

LAYER_KINDS = (
    "hospital",
    "school",
    "emergency_resource",
    "enterprise",
    "building",
    "camera",
    "hydrant",
    "iot_device",  # sensors on the map (water quality, smoke); props: device_type, status
)


class LayerFeature(Base):
    """A point on a map layer; cameras carry their 20-digit GB/T 28181 id as `code`."""

    __tablename__ = "layer_feature"
    __table_args__ = (
        Index("ix_layer_feature_kind_grid", "kind", "grid_id"),
        # Nearest-camera searches cut a latitude band of one kind out of 30,000 cameras.
        Index("ix_layer_feature_kind_lat", "kind", "lat"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    lng: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    props: Mapped[dict[str, Any] | None] = mapped_column(JSON)
