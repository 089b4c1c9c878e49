"""Database wiring: the declarative base, engines for SQLite and PostgreSQL, sessions.

SQLite runs in WAL mode with foreign keys and a busy timeout; write transactions start with
`BEGIN IMMEDIATE` so two writers queue on the lock instead of failing on upgrade. Within one
process, writers to the same SQLite file also queue on a Python lock first: SQLite's own busy
handler sleeps in steps of up to 100 ms, which under load left the database idle while threads
slept, and gave up with "database is locked" after the timeout.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker
from sqlalchemy.types import DateTime, TypeDecorator
from starlette.concurrency import run_in_threadpool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every ORM model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def normalise_url(url: str) -> URL:
    """Parse a database URL; plain `postgresql://` means psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(
    url: str, *, busy_timeout_ms: int = 5000, pgbouncer: bool = False, **kwargs: Any
) -> Engine:
    """An engine with the pragmas and transaction handling Fengqiao relies on. `pgbouncer`:
    the URL is a PgBouncer in transaction mode, so psycopg prepares no statements on the server
    (the next transaction may run on another server connection, which never saw them)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "isolation_level": None},
            **kwargs,
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    if pgbouncer:
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "prepare_threshold": None}
    return create_engine(parsed, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    # pysqlite's own transaction handling is off (isolation_level=None) so that SQLAlchemy's
    # BEGIN, SAVEPOINT and our BEGIN IMMEDIATE behave as written.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


T = TypeVar("T")


class DatabaseBusy(Exception):
    """No write lock within the busy timeout: another writer held the database too long."""


_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()
_HELD = "fengqiao_write_lock"


def _write_lock(engine: Engine) -> threading.Lock:
    """The process-wide lock of one SQLite file (shared by every Database on that file)."""
    database = engine.url.database or ""
    key = (
        database
        if database.startswith("file:") or database in ("", ":memory:")
        else str(Path(database).resolve())
    )
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


class Database:
    """An engine plus its session factory; the app, the CLI and the worker each hold one."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 5000, **engine_kwargs: Any) -> None:
        self.url = url
        self.busy_timeout = busy_timeout_ms / 1000
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = _write_lock(self.engine) if self.is_sqlite else None
        self._writer: ThreadPoolExecutor | None = None
        if self._write_lock is not None:
            event.listen(self.sessions, "after_transaction_end", _release_write_lock)
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")

    async def run_write(self, work: Callable[[], T]) -> T:
        """Run blocking write work off the event loop. On SQLite every such call of this process
        runs on one writer thread, in arrival order: threads racing for the write lock lost
        throughput to GIL hand-offs and sleeps. On PostgreSQL writers run side by side."""
        if self._writer is None:
            return await run_in_threadpool(work)
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, functools.partial(context.run, work))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def mark_name(self, name: str) -> str:
        """The name a read cache's change mark read from this database goes by (a replica's
        differs from the primary's, so rows and their mark come from the same server)."""
        return name

    def mark_reader(
        self, name: str, read: Callable[[Database], Any]
    ) -> tuple[str, Callable[[], Any]]:
        """`ReadCache.mark`'s arguments for a change mark `read` from this database."""
        return self.mark_name(name), functools.partial(read, self)

    def session(self, *, write: bool = False) -> Session:
        """A new session; `write=True` takes SQLite's write lock at BEGIN."""
        session = self.sessions()
        if write and self._write_lock is not None:
            # Released when the session's transaction ends (commit, rollback or close), from
            # whichever thread ends it.
            if not self._write_lock.acquire(timeout=self.busy_timeout):
                session.close()
                raise DatabaseBusy(f"no write lock on {self.url} within {self.busy_timeout:g} s")
            session.info[_HELD] = self._write_lock
            try:
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            except BaseException:
                session.close()
                if session.info.pop(_HELD, None) is not None:  # no transaction had begun
                    self._write_lock.release()
                raise
        return session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write session that commits on success and rolls back on any error."""
        session = self.session(write=True)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self.engine.dispose()


def _release_write_lock(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        lock = session.info.pop(_HELD, None)
        if lock is not None:
            lock.release()


# How far the standby's data is behind: 0 when it has replayed all it received (a quiet primary
# sends nothing, and the last replayed commit's age says nothing then), else the age of the last
# commit it replayed. A server not in recovery (promoted) has no lag.
REPLICA_LAG_SQL = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9) END"
)


class ReadDatabase(Database):
    """Reads that may lag a little (lists, charts, exports, map layers) from a streaming replica
    while it is up and at most `max_lag_seconds` behind; otherwise, and for every write, from
    the primary. The replica's lag is checked at most every `check_seconds` by one thread (the
    others use the last answer); each read sent to the primary instead calls `on_fallback` with
    "lag" or "down". A replica that is fresh again is used again at the next check."""

    def __init__(
        self,
        url: str,
        *,
        primary: Database,
        max_lag_seconds: float,
        check_seconds: float = 1.0,
        connect_timeout: int = 2,
        on_fallback: Callable[[str], None] | None = None,
        **engine_kwargs: Any,
    ) -> None:
        connect_args = {**engine_kwargs.pop("connect_args", {}), "connect_timeout": connect_timeout}
        super().__init__(url, connect_args=connect_args, **engine_kwargs)
        self.primary = primary
        self.max_lag = max_lag_seconds
        self.check_seconds = check_seconds
        self.on_fallback = on_fallback
        self.lag: float | None = None  # seconds, at the last check; None: not reachable
        self._reason: str | None = "down"  # until the first check says otherwise
        self._checked_at = float("-inf")
        self._checking = threading.Lock()

    def session(self, *, write: bool = False) -> Session:
        """A replica session when the replica is fresh and up, else a primary one."""
        if write:
            return self.primary.session(write=True)
        reason = self.state()
        if reason is None:
            session = super().session()
            try:
                session.connection()  # connect now (pre-pinged): a dead replica shows here
                return session
            except DBAPIError:
                session.close()
                reason = self._went_down()
        if self.on_fallback is not None:
            self.on_fallback(reason)
        return self.primary.session()

    def mark_name(self, name: str) -> str:
        return f"{name}@replica"

    def state(self) -> str | None:
        """None when reads may go to the replica, else why not ("lag" or "down")."""
        due = time.monotonic() - self._checked_at >= self.check_seconds
        if due and self._checking.acquire(blocking=False):
            try:
                self._check()
            finally:
                self._checking.release()
        return self._reason

    def _check(self) -> None:
        try:
            with self.engine.connect() as connection:
                lag = float(connection.scalar(REPLICA_LAG_SQL) or 0)
        except DBAPIError:
            self._went_down()
            return
        self.lag = lag
        self._reason = "lag" if lag > self.max_lag else None
        self._checked_at = time.monotonic()

    def _went_down(self) -> str:
        self.lag = None
        self._reason = "down"
        self._checked_at = time.monotonic()
        return "down"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Writes go to the primary."""
        with self.primary.transaction() as session:
            yield session

    async def run_write(self, work: Callable[[], T]) -> T:
        return await self.primary.run_write(work)
