"""gunicorn's threaded worker, with a thread staying on its keep-alive connection a while.

``gthread`` hands each request of a kept-alive connection from its poller thread to a pool
thread and back: three wake-ups and three GIL hand-offs per request, which at moderate load
cost more CPU than serving an echo does and, at moderate load, most of the latency
(``bench/webhook_load.py`` at half load: 1.2 ms of worker CPU a review against 0.8 ms at
full load, p50 3.9 ms). kube-apiserver keeps a few connections to a webhook and reuses them
request after request, so here the pool thread that answered waits on the connection for
the next request (``poll``, the GIL released) and serves it: one wake-up a request.

It gives the connection back to the poller, exactly as ``gthread`` does, after
:data:`LINGER` seconds without a request, as soon as another connection waits for a thread,
and when the worker stops. So idle connections never hold threads that active ones need,
and slow clients, keep-alive timeouts, graceful stops and everything else stay gthread's.
"""

from __future__ import annotations

import mmap
import select
import threading
import time
from typing import Any

from gunicorn.workers import gthread

LINGER = 2.0  # seconds a thread waits on its idle connection before parking it
TICK_MS = 50  # how often a waiting thread looks for queued connections and a stop
RECHECK = 0.05  # seconds between a worker's looks at the others' counts while it defers


class ConnectionCounts:
    """Every worker's number of open connections, in memory the gunicorn master maps before
    it forks its workers (anonymous and shared: no file, so a read-only root is fine).

    The master gives each new worker a free slot (``claim``, in gunicorn's ``pre_fork``) and
    frees it when the worker exits; a worker writes its own count and reads the others'.
    An aligned 4-byte store is atomic: a reader sees an old count or the new one.
    """

    FREE = -1

    def __init__(self, slots: int) -> None:
        self._map = mmap.mmap(-1, 4 * slots)
        self._counts = memoryview(self._map).cast("i")
        for slot in range(slots):
            self._counts[slot] = self.FREE

    def claim(self, in_use: set[int]) -> int | None:
        for slot in range(len(self._counts)):
            if slot not in in_use:
                self._counts[slot] = 0
                return slot
        return None  # more workers than slots: that one simply takes part in no balancing

    def release(self, slot: int | None) -> None:
        if slot is not None:
            self._counts[slot] = self.FREE

    def publish(self, slot: int, count: int) -> None:
        self._counts[slot] = max(count, 0)

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The smallest count among the other live workers; None when there are none."""
        others = [n for i, n in enumerate(self._counts) if i != slot and n != self.FREE]
        return min(others) if others else None


# set by ``oomguard webhook`` in the master before gunicorn forks the workers
shared_counts: ConnectionCounts | None = None


class LingeringThreadWorker(gthread.ThreadWorker):  # type: ignore[misc]
    """See the module's docstring; also spreads connections evenly over the workers.

    kube-apiserver's connections are few and live long, so whichever worker accepts them
    keeps their load: left to the race for ``accept`` on the shared socket (or to the
    kernel's hash of each connection with SO_REUSEPORT), 16 connections often split 10/6
    and one worker's GIL saturates while the other idles. Here a worker listens only while
    it has no more connections than the least-loaded other worker (:class:`ConnectionCounts`).
    """

    slot: int | None = None  # this worker's place in shared_counts, given by the master
    nr_conns: int  # gthread's count of this worker's open connections

    def init_process(self) -> None:
        self._queued = 0  # connections submitted to the pool and not yet on a thread
        self._queued_lock = threading.Lock()
        super().init_process()

    # -- balance: all of it runs on the main thread, where gthread counts connections ------
    def _fair_to_accept(self) -> bool:
        counts, slot = shared_counts, self.slot
        if counts is None or slot is None:
            return True
        counts.publish(slot, self.nr_conns)
        fewest = counts.fewest_elsewhere(slot)
        return fewest is None or self.nr_conns <= fewest

    def finish_request(self, conn: Any, fs: Any) -> None:
        before = self.nr_conns
        super().finish_request(conn, fs)
        # gthread counts a closed connection twice when closing it raises (a socket that
        # its TLS EOF handling closed already): the count drifted below zero under wrk
        if self.nr_conns < before - 1:
            self.nr_conns = before - 1

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled and self._fair_to_accept())

    def accept(self, listener: Any) -> None:
        super().accept(listener)
        if self._accepting and not self._fair_to_accept():
            super().set_accept_enabled(False)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        counts = shared_counts
        if counts is not None and self.slot is not None:
            counts.publish(self.slot, self.nr_conns)
            if self.alive and not self._accepting and self.nr_conns < self.worker_connections:
                # deferring to the others: look again soon, they may have caught up
                timeout = min(timeout, RECHECK)
        super().wait_for_and_dispatch_events(timeout)

    # -- lingering ---------------------------------------------------------------------------
    def enqueue_req(self, conn: Any) -> None:  # the main thread, like gthread's
        with self._queued_lock:
            self._queued += 1
        future = self.tpool.submit(self.serve, conn)
        future.add_done_callback(
            lambda fut: self.method_queue.defer(self.finish_request, conn, fut))

    def serve(self, conn: Any) -> Any:
        """Requests of one connection while they keep coming; the result is gthread's
        ``handle``'s (keep alive, close, or wait for the first bytes), which the main thread
        acts on in ``finish_request``."""
        with self._queued_lock:
            self._queued -= 1
        while True:
            result = self.handle(conn)
            if result is not True or not self._next_request_soon(conn):
                return result

    def _next_request_soon(self, conn: Any) -> bool:
        """Whether the connection's next request arrived within LINGER, with nobody waiting
        for this thread and the worker not stopping."""
        pending = getattr(conn.sock, "pending", None)  # TLS records decrypted ahead
        if conn.parser.unreader.buf.getvalue() or (pending is not None and pending()):
            return True
        poller = select.poll()
        poller.register(conn.sock.fileno(), select.POLLIN)
        deadline = time.monotonic() + LINGER
        while self.alive and not self._queued:
            if poller.poll(TICK_MS):
                return True
            if time.monotonic() >= deadline:
                break
        return False
