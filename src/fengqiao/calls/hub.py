"""Who is connected to signalling and which calls are live, held in this process's memory.

Every phone and command-room page that can take part in a call holds one WebSocket; a message
for a user goes straight into that socket's queue, so ringing costs no database round trip. The
hub is touched only from the event loop (the call routes are `async`), so each check-and-set
below runs without an `await` in between and two operators cannot both win the same worker.

One process: the hub is this process's memory, so `fengqiao serve --workers 1` (the default)
serves calls; several app processes would each see only their own connections
(docs/video.md, "Calls and TURN (coturn)").
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

# A socket whose page stopped reading: after this many unsent messages it is closed, so one
# stuck page never holds more than a small bounded queue.
QUEUE_LIMIT = 64


@dataclass(eq=False)
class Connection:
    """One page's signalling socket."""

    id: str
    user_id: int
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)

    def put(self, message: bytes) -> None:
        if self.queue.qsize() >= QUEUE_LIMIT:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)  # the socket's sender closes it
            return
        self.queue.put_nowait(message)


@dataclass(eq=False)
class LiveCall:
    """A call that rings or is under way; `id` is 0 until its row is stored."""

    caller_id: int
    caller_name: str
    caller_conn: str
    callee_id: int
    callee_name: str
    event_id: int | None
    started_at: datetime
    id: int = 0
    callee_conn: str | None = None  # the page that answered
    answered_at: datetime | None = None
    timer: asyncio.TimerHandle | None = None

    def other(self, user_id: int) -> tuple[int, str | None]:
        """The other side of the call from `user_id`: (user, its bound page)."""
        if user_id == self.caller_id:
            return self.callee_id, self.callee_conn
        return self.caller_id, self.caller_conn


class CallHub:
    """Connections by user, and the live calls with the users they engage."""

    def __init__(self) -> None:
        self.connections: dict[int, dict[str, Connection]] = {}
        self.calls: dict[int, LiveCall] = {}
        self.engaged: dict[int, LiveCall] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # What else a page's socket carries (the meeting rooms' parties): told when it closes.
        self.on_disconnect: list[Callable[[Connection], None]] = []

    # --- connections ----------------------------------------------------------------------

    def connect(self, user_id: int) -> Connection:
        connection = Connection(id=secrets.token_urlsafe(12), user_id=user_id)
        self.connections.setdefault(user_id, {})[connection.id] = connection
        return connection

    def disconnect(self, connection: Connection) -> list[LiveCall]:
        """Forget the socket; the calls it carried (or that rang only for it) are returned for
        the caller to end as dropped."""
        pages = self.connections.get(connection.user_id, {})
        pages.pop(connection.id, None)
        if not pages:
            self.connections.pop(connection.user_id, None)
        for hook in self.on_disconnect:
            hook(connection)
        call = self.engaged.get(connection.user_id)
        if call is None or call.id == 0:
            return []
        carried = connection.id in (call.caller_conn, call.callee_conn)
        rang_only_here = (
            call.callee_id == connection.user_id and call.answered_at is None and not pages
        )
        return [call] if carried or rang_only_here else []

    def online(self, user_id: int) -> bool:
        return bool(self.connections.get(user_id))

    def owns(self, user_id: int, conn_id: str) -> bool:
        return conn_id in self.connections.get(user_id, {})

    # --- calls ----------------------------------------------------------------------------

    def busy(self, user_id: int) -> bool:
        return user_id in self.engaged

    def reserve(self, call: LiveCall) -> None:
        """Engage both sides before the row is stored: nobody else can ring either meanwhile."""
        self.engaged[call.caller_id] = call
        self.engaged[call.callee_id] = call

    def register(self, call: LiveCall, call_id: int) -> None:
        call.id = call_id
        self.calls[call_id] = call

    def release(self, call: LiveCall) -> bool:
        """Take the call out of the hub; False when it was already out (ended meanwhile)."""
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None
        present = self.calls.pop(call.id, None) is not None
        for user_id in (call.caller_id, call.callee_id):
            if self.engaged.get(user_id) is call:
                del self.engaged[user_id]
        return present

    # --- messages -------------------------------------------------------------------------

    def send(self, user_id: int, message: dict[str, Any], *, conn_id: str | None = None) -> int:
        """Queue `message` for the user's pages (only `conn_id` when given); how many got it."""
        body = orjson.dumps(message)
        pages = self.connections.get(user_id, {})
        targets = [pages[conn_id]] if conn_id in pages else [] if conn_id else list(pages.values())
        for connection in targets:
            connection.put(body)
        return len(targets)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` in the background, holding a reference until it finishes."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
