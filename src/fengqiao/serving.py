"""The uvicorn server of `fengqiao serve`, with a graceful drain on SIGTERM.

Behind a load balancer a rolling restart sends each instance SIGTERM in turn. Stopping to listen
at once would refuse the requests the balancer still sends before its health check notices, so
on SIGTERM the server first begins the process's drain (`fengqiao.drain`): `/healthz` answers
503 `draining` at once, every live stream tells its browser to reconnect (to another instance)
and ends, and the server keeps answering for `drain_seconds`, long enough for the balancer to
take it out. Then uvicorn's own graceful shutdown stops listening and lets the requests in
flight finish (up to `timeout_graceful_shutdown`).

Ctrl-C (SIGINT, `make demo`) begins the drain too, so open streams end instead of holding the
shutdown up, but does not wait; a second Ctrl-C forces the exit as uvicorn's always has. A second
SIGTERM while draining stops waiting.

With `--workers N` uvicorn's supervisor runs the workers and, on SIGTERM, sends each worker
SIGTERM and waits for it: `run_workers` makes every worker a `DrainingServer`, so each worker
process drains its own streams and requests (its own `fengqiao.drain` state: the drain is per
process) for `drain_seconds` before it stops.
"""

from __future__ import annotations

import signal
import socket
import threading
from types import FrameType

import uvicorn
from uvicorn.supervisors import multiprocess

from fengqiao import drain


class DrainingServer(uvicorn.Server):
    """uvicorn.Server whose SIGTERM drains for `drain_seconds` before the usual shutdown."""

    def __init__(self, config: uvicorn.Config, *, drain_seconds: float) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds
        self._drained = threading.Event()  # set when the drain's wait is over (or cut short)
        self._drain_thread: threading.Thread | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Signal handler (main thread): SIGTERM drains first, anything else as uvicorn does."""
        if sig == signal.SIGTERM and self.drain_seconds > 0 and not self.should_exit:
            if self._drain_thread is None:
                # Listeners run outside the signal handler: the main thread may hold the
                # drain module's lock at the moment the signal interrupts it.
                self._drain_thread = threading.Thread(
                    target=self._drain_then_exit, args=(sig,), name="fengqiao-drain", daemon=True
                )
                self._drain_thread.start()
                return
            self._drained.set()  # a second SIGTERM: stop waiting
            return
        if not self.should_exit:
            threading.Thread(target=drain.begin_drain, name="fengqiao-drain", daemon=True).start()
        super().handle_exit(sig, frame)

    def _drain_then_exit(self, sig: int) -> None:
        """Begin the drain, keep serving `drain_seconds`, then let uvicorn shut down."""
        drain.begin_drain()
        self._drained.wait(self.drain_seconds)
        if not self.should_exit:
            # Setting uvicorn's flag from this thread is what its main loop polls for.
            super().handle_exit(sig, None)


class DrainingProcess(multiprocess.Process):
    """A worker of uvicorn's supervisor whose server is a `DrainingServer`. The supervisor
    pickles it into the worker's process (spawn), `drain_seconds` with it."""

    drain_for = 0.0  # what the next worker gets (set in the supervisor's process)

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        self.drain_seconds = DrainingProcess.drain_for
        super().__init__(config, sockets)

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:  # in the worker's process
            self._server = DrainingServer(self.config, drain_seconds=self.drain_seconds)
        return self._server


def run_workers(config: uvicorn.Config, *, drain_seconds: float) -> None:
    """`fengqiao serve --workers N`: uvicorn's supervisor with `DrainingProcess` workers (the
    ones it starts at first, restarts after a crash, adds on SIGTTIN or replaces on SIGHUP).
    Its SIGTERM sends every worker SIGTERM at once, so they drain together."""
    DrainingProcess.drain_for = drain_seconds
    # The supervisor creates its workers by this module name; this process runs only the
    # supervisor (the workers unpickle DrainingProcess from this module).
    multiprocess.Process = DrainingProcess  # type: ignore[misc]
    sock = config.bind_socket()
    try:
        multiprocess.Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
