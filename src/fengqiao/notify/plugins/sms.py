"""`sms`: POSTs each message as JSON to an HTTP SMS gateway.

Body: `{"request_id", "phone", "template_id", "params", "text"}`, with the message's idempotency
key both as `request_id` and as the `Idempotency-Key` header, the same on every repeat of one
message, so a gateway that remembers keys drops a repeat; the gateway's template id
comes from `FENGQIAO_SMS_TEMPLATE_IDS` (else the template's name), `params` are the template's
fields. 2xx is sent; 429, 5xx, timeouts and connection errors are retried; other 4xx are refused
for good (a bad number will not become good).
"""

from __future__ import annotations

import httpx

from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.notify.channels import ChannelError, Message


class SmsChannel:
    name = "sms"

    def __init__(self, *, settings: Settings, database: Database) -> None:
        if not settings.sms_gateway_url:
            raise ValueError(
                "the sms channel needs FENGQIAO_SMS_GATEWAY_URL (or deliver sms via log)"
            )
        self.url = settings.sms_gateway_url
        self.template_ids = settings.sms_template_ids
        headers = {}
        if settings.sms_gateway_auth_header:
            name, _, value = settings.sms_gateway_auth_header.partition(":")
            headers[name.strip()] = value.strip()
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
        self.client = httpx.Client(
            headers=headers, timeout=settings.sms_timeout_seconds, limits=limits
        )

    def send(self, message: Message) -> None:
        key = message.idempotency_key or str(message.id)
        body = {
            "request_id": key,
            "phone": message.recipient,
            "template_id": self.template_ids.get(message.template, message.template),
            "params": {
                k: str(v) for k, v in message.payload.items() if isinstance(v, str | int | float)
            },
            "text": message.text,
        }
        try:
            response = self.client.post(self.url, json=body, headers={"Idempotency-Key": key})
        except httpx.HTTPError as exc:
            raise ChannelError(f"sms gateway unreachable: {exc}") from exc
        if response.is_success:
            return
        retry = response.status_code == 429 or response.status_code >= 500
        raise ChannelError(
            f"sms gateway answered {response.status_code}: {response.text[:200]}", retry=retry
        )

    def close(self) -> None:
        self.client.close()
