"""The camera registry: what a camera is beyond its map point.

A camera is one `layer_feature` of kind `camera` (its GB/T 28181 id as `code`, name, point,
grid and `props.stream_url`, `props.install_place`); this table adds what changes on its own
and is filtered on: the status the video platform reports and when the camera was last seen.
One row per camera feature, deleted with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

CAMERA_STATUSES = ("online", "offline", "fault")
CAMERA_STATUS_ZH = {"online": "在线", "offline": "离线", "fault": "故障"}


class Camera(Base):
    """Status of one camera feature (online / offline / fault), with last-seen time."""

    __tablename__ = "camera"
    __table_args__ = (Index("ix_camera_status", "status"),)

    feature_id: Mapped[int] = mapped_column(
        ForeignKey("layer_feature.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    # When the platform last reported the camera online (null: never seen).
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the status last changed.
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
