"""Short caches of hot read answers, kept fresh by a change mark read on every request.

A cached answer is the serialised body (and its gzip), stored under a key that the caller
builds from the route, the caller's scope and the query, together with the change mark the
data was read at and the (injected) time it was read. A request reads the current change mark
(one indexed lookup) and is served from the cache only when the mark is unchanged, so a change
committed before the request shows in its answer. Time-driven changes (a light turning red, the
local day rolling over) show within `seconds`: after that the answer is read again, while
callers that arrive during the refresh keep getting the previous answer (never more than
`2 * seconds` old). A changed mark is never served stale: those callers wait for the one
refresh (one reader per key; the rest wait for it instead of reading the same thing again).

Bodies carry an ETag (a hash of the content) and `Cache-Control: private, no-cache`, so a page
that polls gets `304 Not Modified` while nothing changed; gzip is made once per answer, not per
request (the GZip middleware skips a body that already has a Content-Encoding).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from fengqiao.logs import UnmaskedAccess, note_unmasked, unmasked_var

GZIP_MINIMUM = 2048
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Answer:
    """One serialised answer: the value it was made from, its bytes, gzip and ETag."""

    value: Any
    body: bytes
    gzipped: bytes | None
    etag: str
    media_type: str
    made_at: datetime
    mark: Hashable
    # Personal data the answer serves whole, noted while it was made: replayed into the
    # personal-data access log on every hit, so a cached view is logged like a fresh one.
    unmasked: UnmaskedAccess | None = None


def make_answer(
    value: Any,
    body: bytes,
    *,
    media_type: str,
    made_at: datetime,
    mark: Hashable,
    etag_basis: bytes | None = None,
) -> Answer:
    """An answer with its gzip and ETag. `etag_basis` is the part of the body that identifies
    its content when the body also carries a volatile stamp (e.g. the time it was made). The
    ETag is weak: one tag serves the plain and the gzip-compressed body, and a body that differs
    only in that stamp (RFC 9110 8.8.1)."""
    digest = hashlib.blake2b(etag_basis if etag_basis is not None else body, digest_size=12)
    etag = f'W/"{digest.hexdigest()}"'
    gzipped = gzip.compress(body, GZIP_LEVEL, mtime=0) if len(body) >= GZIP_MINIMUM else None
    return Answer(value, body, gzipped, etag, media_type, made_at, mark)


def _etag_matches(header: str | None, etag: str) -> bool:
    # If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/ prefixes are ignored.
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def respond(request: Request, answer: Answer) -> Response:
    """The answer as a response: 304 when the caller holds it already, gzip when accepted."""
    headers = {"ETag": answer.etag, "Cache-Control": "private, no-cache", "Vary": "Accept-Encoding"}
    if _etag_matches(request.headers.get("if-none-match"), answer.etag):
        return Response(status_code=304, headers=headers)
    if answer.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(answer.gzipped, media_type=answer.media_type, headers=headers)
    return Response(answer.body, media_type=answer.media_type, headers=headers)


def _made(make: Callable[[], Answer]) -> Answer:
    """`make()`, with what it noted as served unmasked kept on the answer."""
    noted = UnmaskedAccess()
    token = unmasked_var.set(noted)
    try:
        answer = make()
    finally:
        unmasked_var.reset(token)
    return dataclasses.replace(answer, unmasked=noted) if noted.subjects else answer


def _served(answer: Answer) -> Answer:
    """Note the answer's unmasked personal data for this request (cached or not)."""
    if answer.unmasked is not None and answer.unmasked.user_id is not None:
        for table, (ids, fields) in answer.unmasked.subjects.items():
            for subject_id in ids:
                note_unmasked(
                    user_id=answer.unmasked.user_id, username=answer.unmasked.username,
                    table=table, subject_id=subject_id, fields=tuple(sorted(fields)),
                )  # fmt: skip
    return answer


class ReadCache:
    """Answers by key, each valid while the change mark holds and for `seconds` of clock time.

    `seconds` 0 caches nothing (every request reads, still with ETags). At most `max_bytes` of
    bodies are kept, the least recently used dropped first.
    """

    def __init__(self, seconds: float, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.ttl = timedelta(seconds=seconds)
        self.max_bytes = max_bytes
        self._answers: OrderedDict[Hashable, Answer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self._marks: dict[str, MarkReader] = {}
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > timedelta(0)

    def _fresh(self, answer: Answer, mark: Hashable, now: datetime, span: timedelta) -> bool:
        return answer.mark == mark and timedelta(0) <= now - answer.made_at < span

    def _lookup(
        self, key: Hashable, mark: Hashable, now: datetime, span: timedelta
    ) -> Answer | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is None or not self._fresh(answer, mark, now, span):
                return None
            self._answers.move_to_end(key)
            self.hits += 1
            return answer

    def peek(self, key: Hashable, mark: Hashable, now: datetime) -> Answer | None:
        """The answer `get_or_make` would return without reading or waiting, or None (then
        call it off the event loop): a fresh one, or during someone's refresh the previous."""
        if not self.enabled:
            return None
        answer = self._lookup(key, mark, now, self.ttl)
        if answer is None:
            with self._lock:
                refreshing = key in self._key_locks
            if refreshing:
                answer = self._lookup(key, mark, now, self.ttl * 2)
        return _served(answer) if answer is not None else None

    async def mark(self, name: str, read: Callable[[], Hashable]) -> Hashable:
        """The change mark `read` returns, read for this request and every other that waits."""
        with self._lock:
            reader = self._marks.get(name)
            if reader is None:
                reader = self._marks[name] = MarkReader(read)
        return await reader.current()

    def get_or_make(
        self,
        key: Hashable,
        mark: Hashable,
        now: datetime,
        make: Callable[[], Answer],
    ) -> Answer:
        """The cached answer for `key` at change mark `mark`, or `make()`'s (then kept)."""
        if not self.enabled:
            return make()
        answer = self._lookup(key, mark, now, self.ttl)
        if answer is not None:
            return _served(answer)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        if not key_lock.acquire(blocking=False):
            # Someone is reading this key now: an answer of the same mark that is merely old
            # (within twice the span) is served meanwhile; a changed mark waits for the read.
            stale = self._lookup(key, mark, now, self.ttl * 2)
            if stale is not None:
                return _served(stale)
            key_lock.acquire()
        try:
            answer = self._lookup(key, mark, now, self.ttl)  # made while we waited
            if answer is not None:
                return _served(answer)
            self.misses += 1
            answer = _made(make)
            self._store(key, answer)
            return _served(answer)
        finally:
            key_lock.release()
            with self._lock:
                if not key_lock.locked():
                    self._key_locks.pop(key, None)

    def _store(self, key: Hashable, answer: Answer) -> None:
        size = len(answer.body) + len(answer.gzipped or b"")
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._answers.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body) + len(old.gzipped or b"")
            self._answers[key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes and self._answers:
                _key, dropped = self._answers.popitem(last=False)
                self._bytes -= len(dropped.body) + len(dropped.gzipped or b"")

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()
            self._bytes = 0


class MarkReader:
    """Reads a change mark for all the requests waiting for one, off the event loop.

    A request waits for the next read that starts after it arrived, so the mark it gets is at
    least as new as every commit made before it; the requests that arrive while one read runs
    share the next. Under fifty clients that is one thread hop and one query per round instead
    of one per request (the hop cost more than the query).
    """

    def __init__(self, read: Callable[[], Hashable]) -> None:
        self._read = read
        self._waiting: asyncio.Future[Hashable] | None = None
        self._running = False
        self._task: asyncio.Future[None] | None = None  # kept: a task nobody holds may vanish

    async def current(self) -> Hashable:
        if self._waiting is None:
            self._waiting = asyncio.get_running_loop().create_future()
        waiting = self._waiting
        if not self._running:
            self._start()
        # Shielded: one caller that goes away must not cancel the read the others wait for.
        return await asyncio.shield(waiting)

    def _start(self) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is None:
            return
        self._running = True

        async def run() -> None:
            try:
                value = await run_in_threadpool(self._read)
                if not waiting.done():
                    waiting.set_result(value)
            except Exception as exc:  # every waiter sees the read's error
                if not waiting.done():
                    waiting.set_exception(exc)
            finally:
                self._running = False
                self._start()

        self._task = asyncio.ensure_future(run())
