"""Security headers on every response, pages and API alike: a strict Content-Security-Policy
(scripts and styles from this site only, no inline script or style attribute), no framing, no
MIME sniffing, a short referrer, and the opener isolated."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fengqiao.assessment.bulletin import DOCUMENT as BULLETIN_DOCUMENT
from fengqiao.basemap.service import BasemapCache, tile_origin
from fengqiao.config import Settings
from fengqiao.db import Database

# Standalone documents (the daily bulletin is downloaded, mailed and printed, so it carries its
# own stylesheet) may keep one fixed <style> block: it is allowed by its hash, never inline
# styles in general. A template's style block must be fixed text for its hash to hold.
STANDALONE_DOCUMENTS = (BULLETIN_DOCUMENT,)
__all__ = ["tile_origin"]  # kept importable from here, where it was
_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.S)


def style_hashes() -> list[str]:
    """The CSP hash sources of the standalone documents' fixed <style> blocks."""
    sources = []
    for path in STANDALONE_DOCUMENTS:
        for block in _STYLE_BLOCK.findall(path.read_text(encoding="utf-8")):
            if "{{" in block or "{%" in block:
                raise ValueError(f"{path.name}: a <style> block must be fixed text to be hashed")
            digest = hashlib.sha256(block.encode("utf-8")).digest()
            sources.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    return sources


def content_security_policy(settings: Settings, tile_origins: tuple[str, ...] = ()) -> str:
    """The one policy of every response; `tile_origins` are the base map's (stored setting)."""
    images = ["'self'", "data:", "blob:", *tile_origins]
    # Cameras play from the media gateway: hls.js fetches the playlist and segments (connect)
    # and feeds them to the video through a blob: Media Source; native HLS and WHEP reach the
    # gateway directly.
    video = settings.video_origins()
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", *style_hashes()],
        "img-src": images,
        "font-src": ["'self'"],
        "connect-src": ["'self'", *video],
        "media-src": ["'self'", "blob:", *video],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def security_headers(
    settings: Settings, tile_origins: tuple[str, ...] = ()
) -> list[tuple[bytes, bytes]]:
    """Every header this module sets, as ASGI header pairs."""
    values = {
        "content-security-policy": content_security_policy(settings, tile_origins),
        "x-content-type-options": "nosniff",
        "referrer-policy": "strict-origin-when-cross-origin",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
    }
    return [(name.encode(), value.encode()) for name, value in values.items()]


class SecurityHeaders:
    """ASGI middleware: replaces any of its headers a response set with the policy's own. The
    img-src follows the base map stored in the database (`BasemapCache`, re-read at most every
    few seconds and at once after a save in this process)."""

    def __init__(
        self, app: ASGIApp, settings: Settings, basemap: BasemapCache, db: Database
    ) -> None:
        self.app = app
        self.settings = settings
        self.basemap = basemap
        self.db = db
        self.built: dict[tuple[str, ...], list[tuple[bytes, bytes]]] = {}
        self.names = {name for name, _ in security_headers(settings)}

    def _read_origins(self) -> tuple[str, ...]:
        with self.db.session() as session:
            return self.basemap.origins(db=session, settings=self.settings)

    async def headers(self) -> list[tuple[bytes, bytes]]:
        origins = (
            await run_in_threadpool(self._read_origins)
            if self.basemap.stale()
            else self.basemap.peek()
        )
        headers = self.built.get(origins)
        if headers is None:
            if len(self.built) > 16:
                self.built.clear()
            headers = self.built[origins] = security_headers(self.settings, origins)
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = await self.headers()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in self.names
                ]
                message["headers"] = kept + headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, settings: Settings, basemap: BasemapCache, db: Database) -> None:
    """Wrap the whole middleware stack, so even a response another middleware or the server
    error handler writes (a 413 before the body is read, a 500) carries the headers, whatever
    order the other middlewares were added in."""
    build: Callable[[], ASGIApp] = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        return SecurityHeaders(build(), settings, basemap, db)

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]
