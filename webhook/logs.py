"""The webhook's log: one JSON object a line on stderr.

Rare events (reloads, watch failures, bad requests) go through :mod:`logging`, whose level
``--log-level`` sets. The review line, written for every request, is encoded by orjson and
written to the stderr descriptor with one ``os.write``: the same line through a logging
record, formatter, handler lock and flush cost about ten times as much CPU. A single write of
a line shorter than ``PIPE_BUF`` (4 KiB) to a pipe is atomic, so the lines of several threads
and workers never interleave.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import orjson

log = logging.getLogger("oomguard.webhook")
STDERR = 2


def event(level: int, name: str, **fields: Any) -> None:
    """Log one event line: ``{"event": name, **fields}``."""
    if log.isEnabledFor(level):
        log.log(level, line(name, fields))


def exception(name: str, **fields: Any) -> None:
    """Log an event line at error level, followed by the traceback being handled."""
    log.exception(line(name, fields))


def line(name: str, fields: dict[str, Any]) -> str:
    return orjson.dumps({"event": name, **fields}, default=str).decode()


def review(fields: dict[str, Any]) -> None:
    """The line of one answered review, when ``info`` is enabled."""
    if not log.isEnabledFor(logging.INFO):
        return
    data = orjson.dumps(fields, default=str, option=orjson.OPT_APPEND_NEWLINE)
    try:
        while data:  # a regular file or a tty may take part of a write
            data = data[os.write(STDERR, data):]
    except OSError:  # stderr closed: logging would drop the line too
        pass
