"""gunicorn's threaded worker, with a thread staying on its keep-alive connection a while.

``gthread`` hands each request of a kept-alive connection from its poller thread to a pool
thread and back: three wake-ups and three GIL hand-offs per request, which cost more CPU
than serving an echo does and, at moderate load, most of the latency
(``bench/webhook_load.py`` at half load: 1.2 ms of worker CPU a review against 0.8 ms at
full load, p50 3.9 ms). kube-apiserver keeps a few connections to a webhook and reuses them
request after request, so here the pool thread that answered waits on the connection for
the next request (``poll``, the GIL released) and serves it: one wake-up a request.

It gives the connection back to the poller, exactly as ``gthread`` does, after
:data:`LINGER` seconds without a request, as soon as another connection waits for a thread,
and when the worker stops (the last two are written to a pipe each lingering thread polls
with its connection, so an idle thread does not wake up until something happens). So idle
connections never hold threads that active ones need, and slow clients, keep-alive
timeouts, graceful stops and everything else stay gthread's.
"""

from __future__ import annotations

import mmap
import os
import select
import threading
from typing import Any

from gunicorn.workers import gthread

LINGER = 2.0  # seconds a thread waits on its idle connection before parking it
RECHECK = 0.05  # seconds between a worker's looks at the others' counts while it defers


class ConnectionCounts:
    """Every worker's number of open connections, in memory the gunicorn master maps before
    it forks its workers (anonymous and shared: no file, so a read-only root is fine).

    The master gives each new worker a slot (``claim``, in gunicorn's ``pre_fork``) and frees
    it when the worker exits. A worker writes its count there once it serves, and frees the
    slot itself as it begins to stop: a booting or stopping worker, which does not accept,
    must not hold the others back. An aligned 4-byte store is atomic: a reader sees an old
    count or the new one.
    """

    FREE = -1

    def __init__(self, slots: int) -> None:
        self._map = mmap.mmap(-1, 4 * slots)
        self._counts = memoryview(self._map).cast("i")
        for slot in range(slots):
            self._counts[slot] = self.FREE

    def claim(self, in_use: set[int]) -> int | None:
        """A slot for a new worker; it counts once the worker publishes."""
        for slot in range(len(self._counts)):
            if slot not in in_use:
                self._counts[slot] = self.FREE
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
        self._lock = threading.Lock()
        self._queued = 0  # connections submitted to the pool and not yet on a thread
        self._serving = 0  # threads serving a connection (or lingering on one)
        # written when a queued connection needs a lingering thread, and at a stop
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        super().init_process()

    # -- balance: all of it runs on the main thread, where gthread counts connections ------
    def _publish(self) -> bool:
        """Write this worker's count (or free its slot once it stops); False when it takes
        part in no balancing."""
        counts, slot = shared_counts, self.slot
        if counts is None or slot is None:
            return False
        if self.alive:
            counts.publish(slot, self.nr_conns)
        else:
            counts.release(slot)
        return True

    def _fair_to_accept(self) -> bool:
        if not self._publish():
            return True
        assert shared_counts is not None and self.slot is not None
        fewest = shared_counts.fewest_elsewhere(self.slot)
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
        if self._publish() and self.alive and not self._accepting and \
                self.nr_conns < self.worker_connections:
            # deferring to the others: look again soon, they may have caught up
            timeout = min(timeout, RECHECK)
        super().wait_for_and_dispatch_events(timeout)

    # -- lingering ---------------------------------------------------------------------------
    def enqueue_req(self, conn: Any) -> None:  # the main thread, like gthread's
        with self._lock:
            self._queued += 1
            if self._queued + self._serving > self.cfg.threads:
                self._wake_lingering()  # no thread is free: one must give its connection up
        future = self.tpool.submit(self.serve, conn)
        future.add_done_callback(
            lambda fut: self.method_queue.defer(self.finish_request, conn, fut))

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        self._publish()  # stopping: out of the balance at once
        self._wake_lingering()

    def _wake_lingering(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except OSError:  # full (a wake-up is pending anyway) or closed at exit
            pass

    def serve(self, conn: Any) -> Any:
        """Requests of one connection while they keep coming; the result is gthread's
        ``handle``'s (keep alive, close, or wait for the first bytes), which the main thread
        acts on in ``finish_request``."""
        with self._lock:
            self._queued -= 1
            self._serving += 1
            if not self._queued and self.alive:  # nobody else waits: let the others linger
                try:
                    while os.read(self._wake_r, 512):
                        pass
                except OSError:  # empty
                    pass
        try:
            while True:
                result = self.handle(conn)
                if result is not True or not self._next_request_soon(conn):
                    return result
        finally:
            with self._lock:
                self._serving -= 1

    def _next_request_soon(self, conn: Any) -> bool:
        """Whether the connection's next request arrived within LINGER, with nobody waiting
        for this thread and the worker not stopping (both signalled on the wake pipe)."""
        pending = getattr(conn.sock, "pending", None)  # TLS records decrypted ahead
        if conn.parser.unreader.buf.getvalue() or (pending is not None and pending()):
            return True
        if not self.alive:
            return False
        fd = conn.sock.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        # a request that is ready is served even if a wake-up came with it
        return any(ready == fd for ready, _ in poller.poll(LINGER * 1000))
