"""The STUN/TURN servers a browser gets for a call: the fixed ones of the settings, and a
coturn with `use-auth-secret` as time-limited credentials (coturn's TURN REST scheme: the
username is `<expiry>:<user id>`, the password base64(HMAC-SHA1(secret, username)))."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

from fengqiao.config import Settings


def ice_servers(settings: Settings, *, user_id: int, now: datetime) -> list[dict[str, Any]]:
    """The `iceServers` of an RTCPeerConnection for this user now; empty by default."""
    servers = [s.model_dump(exclude_none=True) for s in settings.call_ice_servers]
    urls = [u.strip() for u in settings.call_turn_urls.split(",") if u.strip()]
    if urls and settings.call_turn_secret:
        expiry = int(now.timestamp()) + settings.call_turn_ttl_seconds
        username = f"{expiry}:{user_id}"
        digest = hmac.new(
            settings.call_turn_secret.encode(), username.encode(), hashlib.sha1
        ).digest()
        servers.append(
            {"urls": urls, "username": username, "credential": base64.b64encode(digest).decode()}
        )
    return servers
