"""The webhook's log: one JSON object a line on stderr.

Rare events (reloads, watch failures, bad requests) go through :mod:`logging`, whose level
``--log-level`` sets, and are written at once. The review line, one for every request, is
encoded by orjson and buffered: the worker writes its buffered lines to the stderr
descriptor together, with one ``os.write``, at most :data:`FLUSH_EVERY` seconds after the
first of them, as soon as the next line would not fit in :data:`PIPE_BUF` bytes, and when
the worker stops (gunicorn's ``worker_exit``). A ``write`` per line cost a review about
30 µs of worker CPU (timed inside a worker under ``bench/webhook_load.py``'s load). A
write of whole lines of at most ``PIPE_BUF`` bytes to a pipe is atomic, so the lines of
several threads and workers never interleave. A worker killed outright loses at most its
last tenth of a second of review lines; its decisions are in the metrics and in
kube-apiserver's audit log too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import orjson

log = logging.getLogger("oomguard.webhook")
STDERR = 2
PIPE_BUF = 4096  # POSIX's minimum, Linux's value: a write up to this size to a pipe is atomic
FLUSH_EVERY = float(os.environ.get("OOMGUARD_LOG_FLUSH", "0.1"))


def event(level: int, name: str, **fields: Any) -> None:
    """Log one event line: ``{"event": name, **fields}``."""
    if log.isEnabledFor(level):
        log.log(level, line(name, fields))


def exception(name: str, **fields: Any) -> None:
    """Log an event line at error level, followed by the traceback being handled."""
    log.exception(line(name, fields))


def line(name: str, fields: dict[str, Any]) -> str:
    return orjson.dumps({"event": name, **fields}, default=str).decode()


class _Buffer:
    """This worker's review lines not yet written."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lines: list[bytes] = []
        self.size = 0
        self.pending = threading.Event()  # set while lines wait for the flusher
        self.flushing = False  # whether this process has its flusher thread

    def add(self, data: bytes) -> None:
        with self.lock:
            # only the first line of a batch wakes the flusher: Event.set takes a lock and
            # notifies every time, and this runs for every review
            first = not self.lines
            if self.size + len(data) > PIPE_BUF:  # the batch is full: out with it now
                full, self.lines, self.size = self.lines, [data], len(data)
            else:
                full = None
                self.lines.append(data)
                self.size += len(data)
            if not self.flushing:
                self.flushing = True
                threading.Thread(target=self._flush_forever, name="log-flush",
                                 daemon=True).start()
        if first:
            self.pending.set()
        if full:
            _write(b"".join(full))

    def take(self) -> bytes:
        with self.lock:
            lines, self.lines, self.size = self.lines, [], 0
        return b"".join(lines)

    def _flush_forever(self) -> None:
        while True:
            self.pending.wait()
            time.sleep(FLUSH_EVERY)
            # before taking: the lines added from now on are taken too, or start a new batch
            # (an empty buffer), whose first line sets it again
            self.pending.clear()
            _write(self.take())


_buffer = _Buffer()


def _forked() -> None:  # a new worker: nothing buffered, and no flusher thread
    global _buffer
    _buffer = _Buffer()


os.register_at_fork(after_in_child=_forked)


def review(fields: dict[str, Any]) -> None:
    """Buffer the line of one answered review, when ``info`` is enabled."""
    if log.isEnabledFor(logging.INFO):
        _buffer.add(orjson.dumps(fields, default=str, option=orjson.OPT_APPEND_NEWLINE))


def flush() -> None:
    """Write the buffered review lines now (a stopping worker, and tests)."""
    _write(_buffer.take())


def _write(data: bytes) -> None:
    try:
        while data:  # a regular file or a tty may take part of a write
            data = data[os.write(STDERR, data):]
    except OSError:  # stderr closed: logging would drop the line too
        pass
