"""The stored base map setting (one row) and the local vector base's features."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

# provider → what the map draws: Tianditu's vector and imagery with their label layers (Web
# Mercator `_w`), any XYZ template (WGS-84 tiles), an XYZ template of GCJ-02 tiles (Amap,
# Tencent: the tiles are shifted onto the map's WGS-84), or only the local vector base.
PROVIDERS = ("tianditu", "xyz", "gcj02", "local")
PROVIDER_ZH = {
    "tianditu": "天地图", "xyz": "自定义 XYZ", "gcj02": "高德 GCJ-02", "local": "仅本地底图",
}  # fmt: skip
SOURCE_ZH = {"stored": "系统管理设置", "settings": "启动配置", "default": "默认"}
FEATURE_KINDS = ("road", "river", "lake")


class BasemapSetting(Base):
    """The district's base map, set in 系统管理 · 底图; the row with id 1 is the only one."""

    __tablename__ = "basemap_setting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    url_template: Mapped[str | None] = mapped_column(String(500))
    # A Tianditu browser key: stored, sent in tile URLs, never shown back whole in the admin.
    api_key: Mapped[str | None] = mapped_column(String(64))
    attribution: Mapped[str | None] = mapped_column(String(200))
    max_zoom: Mapped[int] = mapped_column(Integer)
    subdomains: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class BaseFeature(Base):
    """A road, river or lake of the local vector base (WGS-84 GeoJSON), with its bounding box
    so an area's features are read by comparing four numbers."""

    __tablename__ = "base_feature"
    __table_args__ = (Index("ix_base_feature_box", "min_lng", "max_lng", "min_lat", "max_lat"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    # 1 for arterials and the canal (labelled from zoom 12), 2 for streets (from zoom 14).
    rank: Mapped[int] = mapped_column(Integer)
    min_lng: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lng: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
