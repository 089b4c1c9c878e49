"""Security headers on every response, pages and API alike: a strict Content-Security-Policy
(scripts and styles from this site only, no inline script or style attribute), no framing, no
MIME sniffing, a short referrer, and the opener isolated."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fengqiao.assessment.bulletin import DOCUMENT as BULLETIN_DOCUMENT
from fengqiao.config import Settings

# Standalone documents (the daily bulletin is downloaded, mailed and printed, so it carries its
# own stylesheet) may keep one fixed <style> block: it is allowed by its hash, never inline
# styles in general. A template's style block must be fixed text for its hash to hold.
STANDALONE_DOCUMENTS = (BULLETIN_DOCUMENT,)
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


def tile_origin(url: str) -> str | None:
    """The CSP source a basemap's tiles come from: `https://t{s}.host/...` → `https://*.host`.

    None for no basemap or a basemap on this site ('self' covers it)."""
    if not url or url.startswith("/"):
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not parts.scheme or not host:
        return None
    labels = host.split(".")
    if any("{" in label for label in labels[1:]):
        return f"{parts.scheme}:"  # a placeholder past the first label: only the scheme holds
    if "{" in labels[0]:
        labels[0] = "*"  # Leaflet's {s} subdomains: CSP allows a wildcard leftmost label
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{'.'.join(labels)}{port}"


def content_security_policy(settings: Settings) -> str:
    """The one policy of every response."""
    images = ["'self'", "data:", "blob:"]
    origin = tile_origin(settings.basemap_url)
    if origin:
        images.append(origin)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", *style_hashes()],
        "img-src": images,
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "media-src": ["'self'"],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    """Every header this module sets, as ASGI header pairs."""
    values = {
        "content-security-policy": content_security_policy(settings),
        "x-content-type-options": "nosniff",
        "referrer-policy": "strict-origin-when-cross-origin",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
    }
    return [(name.encode(), value.encode()) for name, value in values.items()]


class SecurityHeaders:
    """ASGI middleware: replaces any of its headers a response set with the policy's own."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = headers
        self.names = {name for name, _ in headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in self.names
                ]
                message["headers"] = kept + self.headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, settings: Settings) -> None:
    """Wrap the whole middleware stack, so even a response another middleware or the server
    error handler writes (a 413 before the body is read, a 500) carries the headers, whatever
    order the other middlewares were added in."""
    headers = security_headers(settings)
    build: Callable[[], ASGIApp] = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        return SecurityHeaders(build(), headers)

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]
