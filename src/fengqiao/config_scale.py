"""The settings of a deployment larger than one district (issue 21, docs/scaling.md): the read
replica and PgBouncer, the graceful drain behind a load balancer, PostgreSQL's partitions and the
live streams' fan-out. `fengqiao.config.Settings` inherits them; read them from there.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings


class ScaleSettings(BaseSettings):
    """The settings of a city or province deployment (documented in docs/configuration.md)."""

    # --- read replica and PgBouncer (issue 21; docs/scaling.md) ---
    read_database_url: str | None = Field(
        None, description="Streaming replica for reads that may lag; empty: the primary."
    )
    read_max_lag_seconds: float = Field(
        5.0, ge=0, description="Replica lag above which those reads go to the primary."
    )
    database_pgbouncer: bool = Field(
        False, description="The URLs are a PgBouncer in transaction mode (no prepared statements)."
    )

    # --- issue 21, cluster: graceful drain of `fengqiao serve` behind a load balancer ---
    drain_seconds: float = Field(
        5.0,
        ge=0,
        le=300,
        description="After SIGTERM, how long `fengqiao serve` keeps answering while /healthz says "
        "503 draining (long enough for the load balancer's health checks to take it out) "
        "before it stops listening. Ctrl-C (SIGINT) does not wait.",
    )
    graceful_shutdown_seconds: float = Field(
        30.0,
        ge=0,
        le=600,
        description="Once `fengqiao serve` stops listening, how long requests in flight may "
        "take to finish before they are cancelled.",
    )
    # (end of issue 21, cluster)

    # --- issue 21, partitions (parts) ---
    partition_months_ahead: int = Field(
        3,
        ge=1,
        le=24,
        description="Months of PostgreSQL partitions the worker's `partitions.maintain` keeps "
        "made ahead of the current one (trail, positions, rollup day tables).",
    )
    position_retention_months: int = Field(
        12,
        ge=1,
        description="Months of GPS positions kept on PostgreSQL: `partitions.maintain` drops "
        "each month's position partition once it is this many whole months old.",
    )
    # (end of partitions)

    # --- live streams that scale (issue 21, item 5; docs/scaling.md) ---
    stream_backend: Literal["auto", "postgres", "redis", "memory"] = Field(
        "auto", description="How live streams hear of changes (docs/configuration.md)."
    )
    stream_redis_url: str = Field("", description="Redis pub/sub for the live streams.")
    listen_database_url: str | None = Field(
        None, description="Direct PostgreSQL URL for LISTEN (default: database_url)."
    )
