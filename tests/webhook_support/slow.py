"""Slow and idle HTTPS clients, held open against a server (the tests and
``bench/webhook_load.py`` use them).

Each kind stalls at a different stage: ``hello`` sends part of a TLS ClientHello, then a
byte now and then; ``headers`` completes the handshake and sends its header fields a byte
at a time; ``body`` sends whole header fields and then its body a byte at a time; ``idle``
gets one answer and then sends nothing (idle keep-alive). One thread drives them all; a
connection the server closes is counted by kind and, with ``reopen``, replaced, so that
``count`` are held throughout.
"""

from __future__ import annotations

import random
import select
import socket
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("hello", "headers", "body", "idle")
# a TLS record header announcing a 512-byte handshake message, and the start of it
_PARTIAL_HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"


@dataclass
class _Slow:
    kind: str
    sock: socket.socket
    opened: float
    sent: int = 0


@dataclass
class SlowClients:
    port: int
    ca_file: Path
    count: int
    kinds: tuple[str, ...] = KINDS
    interval: float = 0.5  # seconds between two bytes of a slow client
    reopen: bool = True
    closed: Counter[str] = field(default_factory=Counter)  # by the server, by kind
    lifetimes: dict[str, list[float]] = field(default_factory=dict)
    _conns: list[_Slow] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    ready: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> SlowClients:
        self._context = ssl.create_default_context(cafile=str(self.ca_file))
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)
        self._thread.start()
        if not self.ready.wait(60):
            raise RuntimeError("the slow clients did not connect")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for conn in self._conns:
            conn.sock.close()

    @property
    def held(self) -> int:
        return len(self._conns)

    def _open(self, kind: str) -> _Slow | None:
        try:
            raw = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            if kind == "hello":
                raw.sendall(_PARTIAL_HELLO)
                return _Slow(kind, raw, time.monotonic())
            tls = self._context.wrap_socket(raw, server_hostname="127.0.0.1")
            if kind == "headers":
                tls.sendall(b"POST /validate HTTP/1.1\r\nHost: webhook\r\n")
            elif kind == "body":
                tls.sendall(b"POST /validate HTTP/1.1\r\nHost: webhook\r\nContent-Type: "
                            b"application/json\r\nContent-Length: 100000\r\n\r\n{")
            else:
                tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: webhook\r\n\r\n")
                tls.recv(65536)
            return _Slow(kind, tls, time.monotonic())
        except OSError:
            return None

    def _run(self) -> None:
        # shuffled (the same way each run): kinds in a fixed cycle would land on the workers
        # in step with the server's alternating balance
        order = [self.kinds[i % len(self.kinds)] for i in range(self.count)]
        random.Random(0).shuffle(order)
        for kind in order:
            conn = self._open(kind)
            if conn is not None:
                self._conns.append(conn)
        self.ready.set()
        while not self._stop.wait(self.interval):
            self._tick()

    def _tick(self) -> None:
        now = time.monotonic()
        socks = [c.sock for c in self._conns]
        readable = set(select.select(socks, [], [], 0)[0]) if socks else set()
        kept: list[_Slow] = []
        for conn in self._conns:
            alive = conn.sock not in readable or self._still_open(conn)
            if alive and conn.kind != "idle":
                try:
                    conn.sock.sendall(b"a" if conn.kind != "hello" else b"\x00")
                    conn.sent += 1
                except OSError:
                    alive = False
            if alive:
                kept.append(conn)
                continue
            conn.sock.close()
            self.closed[conn.kind] += 1
            self.lifetimes.setdefault(conn.kind, []).append(now - conn.opened)
            if self.reopen and not self._stop.is_set():
                fresh = self._open(conn.kind)
                if fresh is not None:
                    kept.append(fresh)
        self._conns = kept

    @staticmethod
    def _still_open(conn: _Slow) -> bool:
        try:
            conn.sock.setblocking(False)
            data = conn.sock.recv(4096)
            return bool(data)  # b"": the server closed it
        except (BlockingIOError, ssl.SSLWantReadError):
            return True
        except OSError:
            return False
        finally:
            try:
                conn.sock.setblocking(True)
                conn.sock.settimeout(5)
            except OSError:
                pass
