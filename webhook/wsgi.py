"""One whole request through the WSGI app, and its answer as bytes (PEP 3333).

The worker's event loop has read the request completely (``webhook/framing.py``), so the
app's ``wsgi.input`` is an in-memory buffer and the answer is collected whole before it is
written: a thread never waits on a client, in either direction.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson

from oomguard.webhook.framing import Request

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# hop-by-hop fields are the server's to set (RFC 9110 §7.6.1), and it frames the body itself
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length",
                         "upgrade", "proxy-connection", "te", "trailer"})
_REASONS = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large",
            431: "Request Header Fields Too Large", 500: "Internal Server Error",
            501: "Not Implemented", 503: "Service Unavailable",
            505: "HTTP Version Not Supported"}
_LABELS = {400: "bad request", 413: "request too large", 431: "request too large",
           503: "server busy"}


class _Date:
    """The Date field, formatted once a second."""

    def __init__(self) -> None:
        self.second = -1
        self.value = b""

    def now(self) -> bytes:
        second = int(time.time())
        if second != self.second:
            self.value = formatdate(second, usegmt=True).encode()
            self.second = second
        return self.value


_date = _Date()


def environ(request: Request, peer: tuple[Any, ...], server: tuple[str, int],
            multiprocess: bool) -> dict[str, Any]:
    path, _, query = request.target.partition("?")
    if "://" in path:  # absolute-form (RFC 9112 §3.2.2): the path of it
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    env: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        # PEP 3333: the path percent-decoded, its bytes as latin-1 characters
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": request.version,
        "SERVER_SOFTWARE": "oomguard",
        "REMOTE_ADDR": str(peer[0]) if peer else "",
        "REMOTE_PORT": str(peer[1]) if len(peer) > 1 else "",
        "CONTENT_LENGTH": str(len(request.body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
    }
    for name, value in request.headers:
        if name == "content-type":
            env["CONTENT_TYPE"] = value
            continue
        if name in ("content-length", "transfer-encoding") or "_" in name:
            # the body is framed already; a name with "_" would pose as one with "-"
            continue
        key = "HTTP_" + name.upper().replace("-", "_")
        env[key] = f"{env[key]},{value}" if key in env else value
    return env


def call(app: WSGIApp, env: dict[str, Any]) -> tuple[bytes, list[tuple[str, str]], bytes]:
    """The app's status line, header fields and body."""
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return written.append

    result = app(env, start_response)
    try:
        for piece in result:
            if piece:
                written.append(piece)
    finally:
        close = getattr(result, "close", None)  # PEP 3333: always called
        if close is not None:
            close()
    if not started:
        raise RuntimeError("the app did not call start_response")
    return started[0].encode("latin-1"), started[1], b"".join(written)


def answer(status: bytes, headers: list[tuple[str, str]], body: bytes, keep_alive: bool,
           head_only: bool = False) -> bytes:
    """The whole HTTP/1.1 answer. ``Connection: close`` when the connection ends after it,
    so that no client sends another request on a connection about to close."""
    parts = [b"HTTP/1.1 ", status, b"\r\n"]
    for name, value in headers:
        if name.lower() not in _HOP_BY_HOP:
            parts.append(f"{name}: {value}\r\n".encode("latin-1"))
    parts += [b"Content-Length: ", str(len(body)).encode(), b"\r\nDate: ", _date.now(),
              b"\r\nConnection: keep-alive\r\n\r\n" if keep_alive else
              b"\r\nConnection: close\r\n\r\n"]
    if not head_only:
        parts.append(body)
    return b"".join(parts)


def error_answer(status: int, message: str) -> bytes:
    """The server's own refusal, shaped as the app's (a JSON error), always closing."""
    body = orjson.dumps({"error": _LABELS.get(status, "invalid request"), "message": message})
    line = f"{status} {_REASONS.get(status, 'Error')}".encode()
    return answer(line, [("Content-Type", "application/json")], body, keep_alive=False)


CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
