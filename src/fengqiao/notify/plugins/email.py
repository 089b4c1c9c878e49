"""`email`: sends each message through SMTP, one connection reused while it works.

Each mail's Message-ID is made from the message's idempotency key, so a repeat after a worker
died mid-send carries the same Message-ID and a mail system can drop it."""

from __future__ import annotations

import contextlib
import smtplib
import threading
from email.message import EmailMessage

from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.notify.channels import ChannelError, Message


class EmailChannel:
    name = "email"

    def __init__(self, *, settings: Settings, database: Database) -> None:
        if not settings.smtp_host:
            raise ValueError(
                "the email channel needs FENGQIAO_SMTP_HOST (or deliver email via log)"
            )
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._lock = threading.Lock()  # one SMTP conversation at a time

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=10)
        if s.smtp_starttls:
            smtp.starttls()
        if s.smtp_username:
            smtp.login(s.smtp_username, s.smtp_password)
        return smtp

    def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self.settings.smtp_from
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        if message.idempotency_key:
            domain = self.settings.smtp_from.rpartition("@")[2] or "fengqiao"
            mail["Message-ID"] = f"<{message.idempotency_key}@{domain}>"
        mail.set_content(f"{message.text}\n\n{message.link}".strip())
        with self._lock:
            for attempt in (1, 2):  # a dropped idle connection is reopened once
                try:
                    if self._smtp is None:
                        self._smtp = self._connect()
                    self._smtp.send_message(mail)
                    return
                except smtplib.SMTPRecipientsRefused as exc:
                    codes = [code for code, _ in exc.recipients.values()]
                    raise ChannelError(
                        f"smtp refused the recipient: {codes}", retry=min(codes) < 500
                    ) from exc
                except smtplib.SMTPResponseException as exc:
                    if exc.smtp_code >= 500:
                        raise ChannelError(
                            f"smtp refused: {exc.smtp_code} {exc.smtp_error!r}", retry=False
                        ) from exc
                    raise ChannelError(f"smtp busy: {exc.smtp_code}") from exc
                except (smtplib.SMTPServerDisconnected, OSError) as exc:
                    self._drop()
                    if attempt == 2:
                        raise ChannelError(f"smtp unreachable: {exc}") from exc

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        with self._lock:
            if self._smtp is not None:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    self._smtp.quit()
                self._smtp = None
