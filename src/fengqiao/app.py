"""The ASGI application: settings, database, caches, error handlers and routers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from fengqiao import __version__, fanout
from fengqiao.api import API_PREFIX, api_router, public_router
from fengqiao.auth.requests import authenticate
from fengqiao.auth.security import TokenReader
from fengqiao.auth.service import PrincipalCache
from fengqiao.auth.sessions import install_sessions
from fengqiao.basemap.service import BasemapCache, FeatureCache
from fengqiao.bounds import install_bounds
from fengqiao.cameras.index import CameraLocator
from fengqiao.cameras.service import layer_props as camera_layer_props
from fengqiao.clock import Clock
from fengqiao.command import live
from fengqiao.config import Settings, get_settings
from fengqiao.db import Database, ReadDatabase, normalise_url
from fengqiao.errors import install_handlers
from fengqiao.events.photos import PhotoLimits, PhotoStore
from fengqiao.geo.service import GridLocator
from fengqiao.metrics import read_fallback
from fengqiao.open311 import views as open311_views
from fengqiao.ops import views as ops_views
from fengqiao.ratelimit import install_rate_limits
from fengqiao.readcache import ReadCache
from fengqiao.taxonomy.snapshot import RulesCache
from fengqiao.web import (
    STATIC_DIR,
    annual_pages,
    campaign_pages,
    catalogue_pages,
    inspection_pages,
    jointops_pages,
    mechanism_pages,
    meeting_pages,
    notice_pages,
    public_pages,
    resident_pages,
    resident_reports_pages,
    room_pages,
    task_pages,
    tv_pages,
)
from fengqiao.web import headers as security_headers
from fengqiao.web import views as web_views

_GC_TUNED = False
# The server-sent-event streams: never compressed (GZip leaves `text/event-stream` alone).
STREAM_PATHS = frozenset({f"{API_PREFIX}/live/stream", f"{API_PREFIX}/me/notifications/stream"})


class StreamsBypassGZip(GZipMiddleware):
    """GZip, except for the event streams, which go straight through: GZip would not compress
    them anyway, but its per-request responder (and its own copy of the excluded content
    types) would sit on every frame a stream sends, for the stream's whole life: ~2 KB per open
    stream, 10 MB at 5,000."""

    def __init__(self, app: ASGIApp, *, passthrough: frozenset[str], minimum_size: int) -> None:
        super().__init__(app, minimum_size=minimum_size)
        self.passthrough = passthrough

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.passthrough:
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def tune_garbage_collector() -> None:
    """Once per process, when the first app starts: what was loaded at start (the grid index,
    the rules, the modules) leaves the collector's scans (`gc.freeze`), and collections run
    less often. With the defaults a full collection of the loaded heap every few hundred
    requests stalled every request in flight: p99 228 ms against a p50 of 44 ms for the cached
    situation at 50 clients; 70 ms after (docs/benchmarks.md)."""
    global _GC_TUNED
    if _GC_TUNED:
        return
    _GC_TUNED = True
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def read_database(settings: Settings, primary: Database) -> Database:
    """The replica for reads that may lag (FENGQIAO_READ_DATABASE_URL), else the primary."""
    if not settings.read_database_url:
        return primary
    if primary.is_sqlite or normalise_url(settings.read_database_url).get_backend_name() != (
        "postgresql"
    ):
        raise ValueError(
            "FENGQIAO_READ_DATABASE_URL must be a PostgreSQL standby of a PostgreSQL "
            "FENGQIAO_DATABASE_URL (SQLite has no replicas): unset it"
        )
    return ReadDatabase(
        settings.read_database_url,
        primary=primary,
        max_lag_seconds=settings.read_max_lag_seconds,
        on_fallback=read_fallback,
        pgbouncer=settings.database_pgbouncer,
    )


def create_app(
    settings: Settings | None = None, database: Database | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the app; tests pass their own settings, database and clock."""
    settings = settings or get_settings()
    owns_database = database is None
    db = database or Database(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        pgbouncer=settings.database_pgbouncer,
    )
    read_db = read_database(settings, db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tune_garbage_collector()
        yield
        if owns_database:
            db.dispose()
        if read_db is not db:
            read_db.dispose()

    app = FastAPI(
        title="Fengqiao 枫桥",
        version=__version__,
        description="Grid-based grassroots governance: org tree, GPS-to-grid, people and scopes, "
        "the event center with routing, the closed loop, its trail and deadlines; reminders, "
        "supervision orders, escalation and notifications.",
        lifespan=lifespan,
        docs_url=None,  # served below from vendored files: FastAPI's default loads a CDN
        redoc_url=None,
    )
    fanout.configure(settings)  # how this process's writes reach the live streams
    app.state.settings = settings
    app.state.db = db
    app.state.read_db = read_db
    app.state.signing_key = settings.resolved_secret_key()
    app.state.tokens = TokenReader(app.state.signing_key)
    app.state.principals = PrincipalCache(settings.principal_cache_seconds)
    app.state.authenticate = authenticate
    app.state.locator = GridLocator(settings.grid_index_check_seconds)
    app.state.cameras = CameraLocator(settings.camera_index_check_seconds)
    app.state.layer_props = {"camera": camera_layer_props}
    app.state.rules = RulesCache(settings.rules_check_seconds)
    app.state.clock = clock or Clock()
    app.state.photos = PhotoStore(
        settings.photo_dir(),
        PhotoLimits(max_bytes=settings.photo_max_bytes, max_pixels=settings.photo_max_pixels),
    )
    install_handlers(app)
    install_bounds(app)  # body-size limit per route class, before anything reads a body
    install_sessions(app)  # token revocation, login lockout, the password-hashing pool
    install_rate_limits(app, settings)
    app.state.read_cache = ReadCache(settings.read_cache_seconds, settings.read_cache_mb << 20)
    ops_views.install(app)  # request ids, access log, /metrics, personal-data access log
    app.state.basemap = BasemapCache(settings.basemap_check_seconds)
    app.state.base_features = FeatureCache(settings.basemap_check_seconds)
    security_headers.install(app, settings, app.state.basemap, db)
    web_views.install(app)
    app.add_middleware(StreamsBypassGZip, passthrough=STREAM_PATHS, minimum_size=2048)
    app.include_router(public_router)
    app.include_router(api_router)
    app.include_router(web_views.router)
    app.include_router(catalogue_pages.router)
    app.include_router(room_pages.router)
    app.include_router(tv_pages.router)
    app.include_router(resident_reports_pages.router)
    app.include_router(resident_pages.router)
    app.include_router(public_pages.router)
    app.include_router(notice_pages.router)
    app.include_router(jointops_pages.router)  # 联合行动 (issue 20)
    app.include_router(annual_pages.router)
    app.include_router(campaign_pages.router)
    app.include_router(task_pages.router)
    app.include_router(meeting_pages.router)
    app.include_router(mechanism_pages.router)  # 工作机制 (issue 20)
    app.include_router(inspection_pages.router)
    open311_views.install(app)  # after the routers: its catch-all 404 comes last
    # The live stream first, as a bare route: no FastAPI dependency state held for its life.
    app.router.routes.insert(0, live.light_route(API_PREFIX))
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        # Vendored Swagger UI, started from a static script so /docs runs under the CSP.
        return web_views.swagger_page(request)

    return app
