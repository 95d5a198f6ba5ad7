"""gunicorn's threaded worker, with a thread staying on its keep-alive connection a while.

``gthread`` hands each request of a kept-alive connection from its poller thread to a pool
thread and back: three wake-ups and three GIL hand-offs per request, which at moderate load
cost more CPU than serving an echo and most of the webhook's latency (measured with
``bench/webhook_load.py``: 1.2 ms of worker CPU a review at half load against 0.8 ms at
full load, p50 3.9 ms). kube-apiserver keeps a few connections to a webhook and sends a
request on one as soon as the last is answered, so here the pool thread that answered waits
on the connection for the next request (``poll``, the GIL released): one wake-up a request.

It gives the connection back to the poller, exactly as ``gthread`` does, after
:data:`LINGER` seconds without a request, as soon as another connection waits for a thread,
and when the worker stops. So idle connections never hold threads that active ones need,
and slow clients, keep-alive timeouts, graceful stops and everything else stay gthread's.
"""

from __future__ import annotations

import select
import threading
import time
from typing import Any

from gunicorn.workers import gthread

LINGER = 2.0  # seconds a thread waits on its idle connection before parking it
TICK_MS = 50  # how often a waiting thread looks for queued connections and a stop


class LingeringThreadWorker(gthread.ThreadWorker):  # type: ignore[misc]
    def init_process(self) -> None:
        self._queued = 0  # connections submitted to the pool and not yet on a thread
        self._queued_lock = threading.Lock()
        super().init_process()

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
