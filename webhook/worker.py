"""The webhook's gunicorn worker: an event loop for the connections, threads for the app.

One thread per worker (the loop) owns every connection until it has sent a whole request:
it accepts, runs the TLS handshake without blocking, and reads the request
(``webhook/framing.py``) under time limits, then puts the request on a queue that the
worker's threads take requests from. A thread runs the WSGI app, writes the answer without
blocking and re-arms the connection in the loop's epoll set itself (``EPOLLONESHOT``): one
thread wake-up per request and no thread ever waiting on a client. So slow or idle clients
(a ClientHello, headers or a body sent a byte at a time, idle keep-alive) cost a few KiB of
memory each, and real requests keep being answered beside hundreds of them.

Limits (:class:`ServeLimits`, the server's flags): the TLS handshake, the head of a request
from its first byte, its body from the end of its head, an answer the client does not read,
and an idle keep-alive connection each have a time limit; a worker holds at most
``max_connections`` (past it, the oldest connection that never completed a request, else
the oldest idle one, is closed for the new one) and at most ``max_pending_bytes`` of
unfinished requests (past it, the request that would exceed it is refused with 503). Each
timeout or shed closes the connection and is counted in
``oomguard_connections_closed_total{reason}``.

The workers share one listening socket, and a worker listens on it only while it holds no
more connections than the least-loaded other worker (:class:`ConnectionCounts`):
kube-apiserver's few long-lived connections would otherwise mostly land on one worker. Only
connections with a request in the last :data:`BALANCE_WINDOW` seconds (or as new) count,
so idle and slow clients do not skew where the real load goes.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oomguard.webhook import framing, logs, wsgi
from oomguard.webhook.balance import ConnectionCounts
from oomguard.webhook.compat_gunicorn import Worker

RECHECK = 0.05  # seconds between a deferring worker's looks at the others' counts
SCAN_EVERY = 0.1  # seconds between looks for connections past their time limit
# a connection counts in the balance while it is serving, or had a request within this many
# seconds: idle and stalled clients carry no load and must not make a worker look busy,
# which would send the real load to the others (long enough that a client opening its
# connections one after another on a loaded host still sees them spread)
BALANCE_WINDOW = 10.0
# a new connection counts this long before its first request: long enough for a burst of
# connections (a load generator, an API server restarting) to spread by their count, short
# enough that slow clients opened meanwhile barely skew it (the bench's churn of 100 of
# them skewed full-load shares to 27/73 with the whole window)
BALANCE_NEW = 0.5
DRAIN_SECONDS = 2.0  # reading and dropping what a refused client still sends, so it gets the answer
READ_CHUNK = 64 << 10
SEND_CHUNK = 256 << 10
_IN = select.EPOLLIN | select.EPOLLONESHOT
_OUT = select.EPOLLOUT | select.EPOLLONESHOT


@dataclass(frozen=True, slots=True)
class ServeLimits:
    handshake_timeout: float = 5.0
    header_timeout: float = 10.0  # from a request's first byte (or the handshake) to its head
    body_timeout: float = 10.0  # from the end of the head to the end of the body; also writes
    keepalive_timeout: float = 75.0  # longer than kube-apiserver's idle connection reuse (90 s)
    max_connections: int = 1000  # per worker
    max_pending_bytes: int = 64 << 20  # per worker: unfinished requests' bytes held
    request: framing.Limits = framing.Limits()


@dataclass(slots=True)
class Settings:
    """What ``oomguard webhook`` gives its workers (set in the master before the fork)."""

    ssl_context: Callable[[], ssl.SSLContext]
    limits: ServeLimits
    counts: ConnectionCounts | None = None
    on_refusal: Callable[[int, str, str], None] | None = None  # status, message, peer
    on_close: Callable[[str], None] | None = None  # a connection closed for this reason


settings: Settings | None = None


# a connection's states; only the loop thread changes a connection in the first three and
# in CLOSED, only the thread serving it in SERVING
HANDSHAKE, READING, WRITING, DRAINING, SERVING, CLOSED = range(6)


class Connection:
    __slots__ = ("sock", "fd", "peer", "reader", "state", "deadline", "out", "close_after",
                 "served", "opened", "held", "counted", "active_at")

    def __init__(self, sock: ssl.SSLSocket, peer: Any, now: float, limits: ServeLimits
                 ) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.peer = peer
        self.reader = framing.RequestReader(limits.request)
        self.state = HANDSHAKE
        self.deadline = now + limits.handshake_timeout
        self.out = b""  # answer bytes not yet written
        self.close_after = False  # close once ``out`` is written
        self.served = 0  # requests answered
        self.opened = now
        self.held = 0  # bytes of an unfinished request counted in the worker's pending total
        self.counted = True  # in the worker's count for the balance (see _recount)
        # when it last handed a request to a thread; as new, it counts for BALANCE_NEW
        self.active_at = now - BALANCE_WINDOW + BALANCE_NEW


class EventLoopWorker(Worker):  # type: ignore[misc]
    """See the module's docstring."""

    slot: int | None = None  # this worker's place in the shared counts, given by the master
    cpu: int | None = None
    alive: bool  # gunicorn's: cleared when the worker is told to stop

    def init_process(self) -> None:
        if settings is None:
            raise RuntimeError("EventLoopWorker runs under `oomguard webhook` only")
        self.settings = settings
        self.limits = settings.limits
        self.conns: dict[int, Connection] = {}
        self.epoll = select.epoll()
        self.jobs: queue.SimpleQueue[tuple[Connection, framing.Request] | None] = \
            queue.SimpleQueue()
        self.returned: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self.pending_bytes = 0
        self.balance_count = 0  # connections that count in the balance
        self.next_recount = 0.0
        self.listening = False
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        super().init_process()  # loads the app, then calls run()

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)  # clears self.alive
        self._publish()  # stopping: out of the balance at once
        self._wake()

    def _wake(self) -> None:
        try:
            os.write(self.wake_w, b"\0")
        except OSError:  # full: a wake-up is pending anyway
            pass

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> None:
        for listener in self.sockets:
            listener.setblocking(False)
        self.listeners = {listener.fileno(): listener for listener in self.sockets}
        self.server_address = self._server_address()
        self.epoll.register(self.wake_r, select.EPOLLIN)
        threads = [threading.Thread(target=self._serve_forever, name=f"serve-{i}", daemon=True)
                   for i in range(max(1, self.cfg.threads))]
        for thread in threads:
            thread.start()
        stop_by = None
        next_notify = 0.0
        self.next_scan = 0.0
        while True:
            now = time.monotonic()
            if now >= next_notify:
                self.notify()
                next_notify = now + 1.0
                if self.alive and os.getppid() != self.ppid:
                    self.log.info("Parent changed, shutting down: %s", self)
                    self.alive = False
            if not self.alive:
                if stop_by is None:
                    stop_by = now + self.cfg.graceful_timeout
                    self._stop_listening_and_close_idle()
                if not self.conns or now >= stop_by:
                    break
            self._balance_listening()
            if now >= self.next_recount:
                self._recount(now)
                self._publish()  # the others see it now, not at this worker's next wake-up
                self.next_recount = now + SCAN_EVERY
            if now >= self.next_scan:
                # the next look when the next time limit is due, at most a second away
                self.next_scan = max(now + SCAN_EVERY, min(self._expire(now), now + 1.0))
            timeout = min(self.next_scan, next_notify) - now
            if self.balance_count:  # counted connections may stop counting: recount in time
                timeout = min(timeout, self.next_recount - now)
            if self.alive and not self.listening and len(self.conns) < self.limits.max_connections:
                timeout = min(timeout, RECHECK)  # deferring to the others: look again soon
            self._dispatch(self.epoll.poll(max(timeout, 0.0)))
        for _ in threads:
            self.jobs.put(None)
        for conn in list(self.conns.values()):
            self._close(conn, None)

    def _server_address(self) -> tuple[str, int]:
        try:
            name = next(iter(self.listeners.values())).getsockname()
            return str(name[0]), int(name[1])
        except (StopIteration, OSError, IndexError, TypeError):
            return "localhost", 0

    def _dispatch(self, events: list[tuple[int, int]]) -> None:
        for fd, mask in events:
            if fd in self.listeners:
                self._accept(self.listeners[fd])
            elif fd == self.wake_r:
                self._take_returned()
            else:
                conn = self.conns.get(fd)
                if conn is not None and conn.state != SERVING:
                    self._ready(conn, mask)

    def _take_returned(self) -> None:
        try:
            while os.read(self.wake_r, 512):
                pass
        except OSError:
            pass
        while True:
            try:
                conn = self.returned.get_nowait()
            except queue.Empty:
                return
            if conn.state == WRITING:
                self._write(conn)
            elif conn.state == CLOSED:
                self._forget(conn)

    # -- accepting and balancing -------------------------------------------------------------
    def _publish(self) -> bool:
        counts, slot = self.settings.counts, self.slot
        if counts is None or slot is None:
            return False
        if self.alive:
            counts.publish(slot, self.balance_count)
        else:
            counts.release(slot)
        return True

    def _fair_to_accept(self) -> bool:
        if not self._publish():
            return True
        assert self.settings.counts is not None and self.slot is not None
        fewest = self.settings.counts.fewest_elsewhere(self.slot)
        return fewest is None or self.balance_count <= fewest

    def _recount(self, now: float) -> None:
        """Which connections count in the balance: those in a request, opened or handed a
        request within BALANCE_WINDOW; not idle or stalled ones."""
        recent = now - BALANCE_WINDOW
        count = 0
        for conn in self.conns.values():
            conn.counted = conn.state == SERVING or conn.active_at > recent
            count += conn.counted
        self.balance_count = count

    def _balance_listening(self) -> None:
        want = self.alive and self._fair_to_accept() and \
            (len(self.conns) < self.limits.max_connections or self._evictable() is not None)
        if want != self.listening:
            for fd in self.listeners:
                if want:
                    self.epoll.register(fd, select.EPOLLIN)
                else:
                    self.epoll.unregister(fd)
            self.listening = want

    def _stop_listening_and_close_idle(self) -> None:
        self._publish()
        if self.listening:
            for fd in self.listeners:
                self.epoll.unregister(fd)
            self.listening = False
        for conn in list(self.conns.values()):
            # a stop keeps what a client is sending or being sent, not what it may send later
            if conn.state == HANDSHAKE or (conn.state == READING and
                                           not conn.reader.in_request):
                self._close(conn, None)

    def _accept(self, listener: Any) -> None:
        for _ in range(64):  # a burst at a time, then the others get a turn
            if not self.alive or not self._fair_to_accept():
                return
            if len(self.conns) >= self.limits.max_connections:
                victim = self._evictable()
                if victim is None:
                    return
                self._close(victim, "shed")
            try:
                raw, peer = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO):
                    continue
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    logs.event(logging.WARNING, "accept-failed", error=str(exc))
                    return
                raise
            raw.setblocking(False)
            try:
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                # the context at this moment: a rotated certificate serves new connections
                sock = self.settings.ssl_context().wrap_socket(
                    raw, server_side=True, do_handshake_on_connect=False)
            except (OSError, ValueError):
                raw.close()
                continue
            conn = Connection(sock, peer, time.monotonic(), self.limits)
            self._due(conn, conn.deadline)
            self.conns[conn.fd] = conn
            self.balance_count += 1
            self.epoll.register(conn.fd, _IN)
            self._handshake(conn)

    def _evictable(self) -> Connection | None:
        """The connection to close for a new one: the oldest that never completed a
        request, else the oldest idle one; None when all are busy."""
        best: Connection | None = None
        best_key: tuple[bool, float] | None = None
        for conn in self.conns.values():
            if conn.state in (HANDSHAKE, READING, DRAINING):
                key = (conn.served > 0 and conn.state != DRAINING, conn.opened)
                if best_key is None or key < best_key:
                    best, best_key = conn, key
        return best

    # -- time limits -------------------------------------------------------------------------
    def _due(self, conn: Connection, deadline: float) -> None:
        """Set a connection's time limit (in the loop thread), looked at in time."""
        conn.deadline = deadline
        if deadline < self.next_scan:
            self.next_scan = deadline

    def _expire(self, now: float) -> float:
        """Close the connections past their time limit; the earliest limit left."""
        earliest = now + 3600.0
        for conn in list(self.conns.values()):
            if conn.state == SERVING:
                continue
            if now < conn.deadline:
                earliest = min(earliest, conn.deadline)
            else:
                reason = {HANDSHAKE: "handshake-timeout", WRITING: "write-timeout",
                          DRAINING: None}.get(conn.state)
                if conn.state == READING:
                    reason = ("body-timeout" if conn.reader.in_body else "header-timeout") \
                        if conn.reader.in_request or not conn.served else "idle"
                self._close(conn, reason)
        return earliest

    # -- one connection's I/O in the loop ------------------------------------------------------
    def _ready(self, conn: Connection, mask: int) -> None:
        if conn.state == HANDSHAKE:
            self._handshake(conn)
        elif conn.state == READING:
            self._read(conn)
        elif conn.state == WRITING:
            self._write(conn)
        elif conn.state == DRAINING:
            self._drain(conn)

    def _handshake(self, conn: Connection) -> None:
        try:
            conn.sock.do_handshake()
        except ssl.SSLWantReadError:
            self._arm(conn, _IN)
            return
        except ssl.SSLWantWriteError:
            self._arm(conn, _OUT)
            return
        except (OSError, ValueError):  # not TLS, an untrusted client, a reset
            self._close(conn, "tls-error")
            return
        conn.state = READING
        # a connection that never sends a request has the header time limit, not keep-alive's
        self._due(conn, time.monotonic() + self.limits.header_timeout)
        self._read(conn)

    def _read(self, conn: Connection) -> None:
        reader = conn.reader
        was_in_request = reader.in_request
        got = 0
        eof = False
        while got < 4 * READ_CHUNK:
            try:
                data = conn.sock.recv(READ_CHUNK)
            except (ssl.SSLWantReadError, BlockingIOError):
                break
            except ssl.SSLWantWriteError:
                self._arm(conn, _OUT)
                return
            except (OSError, ValueError):
                self._close(conn, None)
                return
            if not data:
                eof = True
                break
            reader.feed(data)
            got += len(data)
        if got:
            now = time.monotonic()
            if not was_in_request:  # the first bytes of a request: the header limit starts
                self._due(conn, now + self.limits.header_timeout)
            if not self._advance(conn, now):
                return
        if eof:
            self._close(conn, None)
            return
        if conn.state == READING:
            if got and conn.sock.pending():  # decrypted bytes left in the TLS layer
                self._read(conn)
                return
            self._arm(conn, _IN)

    def _advance(self, conn: Connection, now: float) -> bool:
        """Frame what has arrived; a whole request goes to a thread. False when the
        connection is no longer the loop's to read."""
        reader = conn.reader
        in_body = reader.in_body
        try:
            request = reader.next_request()
        except framing.FramingError as exc:
            self._refuse(conn, exc.status, exc.message)
            return False
        if request is not None:
            conn.active_at = now
            self._hold(conn, 0)
            conn.state = SERVING
            self.jobs.put((conn, request))
            return False
        if reader.in_body and not in_body:  # the head is complete: the body limit starts
            self._due(conn, now + self.limits.body_timeout)
        if reader.wants_continue:
            reader.continue_sent = True
            self._send_now(conn, wsgi.CONTINUE)
        if not self._hold(conn, reader.held_bytes):
            self._refuse(conn, 503, "the server holds too many unfinished requests")
            return False
        return True

    def _hold(self, conn: Connection, size: int) -> bool:
        """Count a connection's unfinished bytes in the worker's total; False past it."""
        self.pending_bytes += size - conn.held
        conn.held = size
        return self.pending_bytes <= self.limits.max_pending_bytes

    def _send_now(self, conn: Connection, data: bytes) -> None:
        try:
            conn.sock.send(data)
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            pass  # a client that cannot take 25 bytes: its body limit still runs
        except (OSError, ValueError):
            pass

    def _refuse(self, conn: Connection, status: int, message: str) -> None:
        """Answer a request that cannot be framed or held, then close (after reading and
        dropping what the client still sends, so that it reads the answer)."""
        self._hold(conn, 0)
        on_refusal = self.settings.on_refusal
        if on_refusal is not None:
            try:
                on_refusal(status, message, str(conn.peer[0]) if conn.peer else "")
            except Exception:  # noqa: BLE001 - accounting never stops the answer
                logs.exception("accounting-failed")
        conn.out = wsgi.error_answer(status, message)
        conn.close_after = True
        conn.state = WRITING
        self._due(conn, time.monotonic() + self.limits.body_timeout)
        self._write(conn)

    def _write(self, conn: Connection) -> None:
        try:
            while conn.out:
                chunk = conn.out[:SEND_CHUNK]  # retried whole: OpenSSL wants the same buffer
                sent = conn.sock.send(chunk)
                conn.out = conn.out[sent:]
        except ssl.SSLWantReadError:
            self._arm(conn, _IN)
            return
        except (ssl.SSLWantWriteError, BlockingIOError):
            self._arm(conn, _OUT)
            return
        except (OSError, ValueError):
            self._close(conn, None)
            return
        if conn.close_after:
            self._start_draining(conn)
        else:
            self._keep_alive(conn)

    def _keep_alive(self, conn: Connection) -> None:
        """Back to reading: the next request may be here already (pipelined)."""
        conn.state = READING
        now = time.monotonic()
        self._due(conn, now + (self.limits.header_timeout if conn.reader.in_request
                               else self.limits.keepalive_timeout))
        if conn.reader.in_request:
            if not self._advance(conn, now):
                return
        self._read(conn)

    def _start_draining(self, conn: Connection) -> None:
        conn.state = DRAINING
        self._due(conn, time.monotonic() + DRAIN_SECONDS)
        try:
            # our half closed first (RFC 9112 §9.6), the client's bytes read and dropped
            # until it closes: closing at once could reset the answer away
            conn.sock.shutdown(socket.SHUT_WR)
        except (OSError, ValueError):
            self._close(conn, None)
            return
        conn.out = b""
        self._drain(conn)

    def _drain(self, conn: Connection) -> None:
        dropped = 0
        while dropped < 4 * READ_CHUNK:
            try:
                data = conn.sock.recv(READ_CHUNK)  # plain TCP now: SHUT_WR ended the TLS layer
            except (BlockingIOError, ssl.SSLWantReadError):
                self._arm(conn, _IN)
                return
            except (OSError, ValueError):
                break
            if not data:
                break
            dropped += len(data)
        else:
            self._arm(conn, _IN)
            return
        self._close(conn, None)

    def _arm(self, conn: Connection, mask: int) -> None:
        try:
            self.epoll.modify(conn.fd, mask)
        except OSError:
            self._close(conn, None)

    def _close(self, conn: Connection, reason: str | None) -> None:
        """Close in the loop thread (which alone forgets a descriptor, so that a number the
        kernel hands out again is never mistaken for the old connection)."""
        conn.state = CLOSED
        self._forget(conn)
        if reason and self.settings.on_close is not None:
            try:
                self.settings.on_close(reason)
            except Exception:  # noqa: BLE001 - accounting never stops the loop
                logs.exception("accounting-failed")

    def _forget(self, conn: Connection) -> None:
        if self.conns.get(conn.fd) is conn:
            del self.conns[conn.fd]
            self.balance_count -= conn.counted
            try:
                self.epoll.unregister(conn.fd)
            except (OSError, ValueError):
                pass
        self._hold(conn, 0)
        try:
            conn.sock.close()
        except OSError:
            pass

    # -- the threads ---------------------------------------------------------------------------
    def _serve_forever(self) -> None:
        jobs = self.jobs
        while True:
            job = jobs.get()
            if job is None:
                return
            conn, request = job
            try:
                self._serve(conn, request)
            except Exception:  # noqa: BLE001 - one connection's failure, not the worker's
                logs.exception("serve-failed")
                self._give_back(conn, CLOSED)

    def _serve(self, conn: Connection, request: framing.Request | None) -> None:
        """Answer the connection's requests while whole ones are at hand, then give it back
        to the loop: re-armed for reading directly, or through the loop for writing the rest
        of an answer or closing."""
        while request is not None:
            keep = request.keep_alive and self.alive
            data = self._respond(request, conn.peer, keep)
            conn.served += 1
            try:
                while data:
                    chunk = data[:SEND_CHUNK]
                    data = data[conn.sock.send(chunk):]
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                conn.out, conn.close_after = data, not keep
                conn.deadline = time.monotonic() + self.limits.body_timeout
                self._give_back(conn, WRITING)
                return
            except (OSError, ValueError):
                self._give_back(conn, CLOSED)
                return
            if not keep:
                self._give_back(conn, CLOSED)
                return
            try:
                request = conn.reader.next_request()  # pipelined: already read
            except framing.FramingError:
                self._give_back(conn, CLOSED)
                return
        now = time.monotonic()
        conn.deadline = now + (self.limits.header_timeout if conn.reader.in_request
                               else self.limits.keepalive_timeout)
        if conn.reader.in_request or conn.sock.pending():
            conn.out = b""  # part of the next request is here: the loop frames it
            conn.close_after = False
            self._give_back(conn, WRITING)
            return
        conn.state = READING  # the loop may take it from the moment it is re-armed
        try:
            self.epoll.modify(conn.fd, _IN)
        except OSError:  # closed meanwhile by the loop (a stop's deadline)
            pass

    def _give_back(self, conn: Connection, state: int) -> None:
        conn.state = state
        self.returned.put(conn)
        self._wake()

    def _respond(self, request: framing.Request, peer: Any, keep: bool) -> bytes:
        env = wsgi.environ(request, peer, self.server_address, self.cfg.workers > 1)
        try:
            status, headers, body = wsgi.call(self.wsgi, env)
        except Exception:  # noqa: BLE001 - the app's own handlers failed: a plain 500
            logs.exception("internal-error", path=env.get("PATH_INFO"))
            return wsgi.error_answer(500, "internal error")
        return wsgi.answer(status, headers, body, keep, request.method == "HEAD")
