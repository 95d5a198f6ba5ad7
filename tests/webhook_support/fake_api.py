"""A small Kubernetes API server on 127.0.0.1 for the LimitRange/Node list+watch.

It speaks the wire format the kubernetes client reads: a list is a ``...List`` whose items
carry no kind/apiVersion (as kube-apiserver sends them), with ``metadata.resourceVersion``;
a watch (``?watch=true``) is an HTTP/1.1 chunked stream of one JSON event per line. Each
resource has a script: lists by call number (the last one repeats) and watches by call
number, each ending in one of

- ``close``: the stream ends cleanly (as a watch's ``timeoutSeconds`` does),
- ``drop``: the connection is cut in the middle of an event,
- ``gone``: an ERROR event with a 410 Status (resourceVersion too old), then the end,
- ``status-410``: the watch request itself is answered 410 Gone,
- ``hang``: the stream stays open, quiet, until the server stops.

A watch can ``hold`` before its ending until the test sets the event, so a test can look
at the state in between. After its script a resource's watches hang. ``forbidden`` makes
every request for a resource a 403, as RBAC would.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Watch:
    events: list[dict[str, Any]] = field(default_factory=list)
    end: str = "close"
    hold: threading.Event | None = None


@dataclass
class Call:
    resource: str
    verb: str  # list or watch
    params: dict[str, str]


def send_json(handler: BaseHTTPRequestHandler, code: int, body: Any) -> None:
    """Answer with ``body`` as JSON, with its length (kube-apiserver keeps connections)."""
    data = json.dumps(body).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def limit_range(name: str, namespace: str, memory: str, rv: str,
                request: str | None = None) -> dict[str, Any]:
    """A LimitRange as a list item (no kind/apiVersion)."""
    item: dict[str, Any] = {"type": "Container", "default": {"memory": memory}}
    if request:
        item["defaultRequest"] = {"memory": request}
    return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": rv,
                         "uid": f"lr-{namespace}-{name}"},
            "spec": {"limits": [item]}}


def node(name: str, capacity: str, allocatable: str, rv: str) -> dict[str, Any]:
    """A Node as a list item (no kind/apiVersion), with the status fields that matter."""
    return {"metadata": {"name": name, "resourceVersion": rv, "uid": f"node-{name}",
                         "labels": {"kubernetes.io/hostname": name}},
            "status": {"capacity": {"cpu": "8", "memory": capacity, "pods": "110"},
                       "allocatable": {"cpu": "7800m", "memory": allocatable, "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def event(kind: str, obj: dict[str, Any], api_kind: str) -> dict[str, Any]:
    """A watch event; its object carries kind/apiVersion, as watch events do."""
    return {"type": kind, "object": {"kind": api_kind, "apiVersion": "v1", **obj}}


class FakeAPI:
    def __init__(self) -> None:
        self.lists: dict[str, list[tuple[str, list[dict[str, Any]]]]] = {
            "limitranges": [("1", [])], "nodes": [("1", [])]}
        self.watches: dict[str, list[Watch]] = {"limitranges": [], "nodes": []}
        self.forbidden: set[str] = set()
        self.calls: list[Call] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- what the tests read ------------------------------------------------------------------
    def verbs(self, resource: str) -> list[str]:
        with self._lock:
            return [c.verb for c in self.calls if c.resource == resource]

    def calls_of(self, resource: str, verb: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.resource == resource and c.verb == verb]

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "t0k3n"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
        }))
        return path

    # -- serving ------------------------------------------------------------------------------
    def start(self) -> FakeAPI:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        self.stop.set()
        for script in self.watches.values():
            for watch in script:
                if watch.hold:
                    watch.hold.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def _record(self, resource: str, verb: str, params: dict[str, str]) -> int:
        with self._lock:
            self.calls.append(Call(resource, verb, params))
            return sum(1 for c in self.calls if c.resource == resource and c.verb == verb)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, code: int, body: dict[str, Any]) -> None:
                send_json(self, code, body)

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                resource = url.path.rstrip("/").rsplit("/", 1)[-1]
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                verb = "watch" if params.get("watch", "").lower() in ("true", "1") else "list"
                if resource not in api.lists:
                    self._json(404, status(404, "NotFound", f"no resource {resource}"))
                    return
                count = api._record(resource, verb, params)
                if resource in api.forbidden:
                    self._json(403, status(403, "Forbidden",
                                           f'{resource} is forbidden: User "system:'
                                           f'serviceaccount:oomguard:oomguard" cannot '
                                           f'{verb} resource "{resource}"'))
                    return
                if verb == "list":
                    script = api.lists[resource]
                    rv, items = script[min(count, len(script)) - 1]
                    kind = "LimitRangeList" if resource == "limitranges" else "NodeList"
                    self._json(200, {"kind": kind, "apiVersion": "v1",
                                     "metadata": {"resourceVersion": rv}, "items": items})
                    return
                watches = api.watches[resource]
                watch = watches[count - 1] if count <= len(watches) else Watch(end="hang")
                self._stream(watch)

            def _stream(self, watch: Watch) -> None:
                if watch.end == "status-410":
                    self._json(410, status(410, "Expired", "too old resource version"))
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for item in watch.events:
                    self._chunk(json.dumps(item).encode() + b"\n")
                if watch.hold:
                    watch.hold.wait(20)
                if watch.end == "gone":
                    self._chunk(json.dumps({"type": "ERROR", "object": status(
                        410, "Expired", "too old resource version: 1 (20)")}).encode() + b"\n")
                elif watch.end == "drop":
                    half = json.dumps(event("ADDED", {"metadata": {"name": "x"}},
                                            "Node")).encode()[:20]
                    self.wfile.write(f"{len(half) * 2:x}\r\n".encode() + half)
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                elif watch.end == "hang":
                    api.stop.wait(30)
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        return Handler


@contextlib.contextmanager
def serving(api: FakeAPI | None = None) -> Iterator[FakeAPI]:
    """Serve ``api`` (scripted by the caller beforehand) until the block ends."""
    api = (api or FakeAPI()).start()
    try:
        yield api
    finally:
        api.close()
