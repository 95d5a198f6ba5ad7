"""The stand-in API server (see the package docstring for its API)."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from tests.webhook_support.certs import make_ca
from tests.webhook_support.fake_api import status

# kind -> (group, version, plural, namespaced): the resources a stub serves
KINDS: dict[str, tuple[str, str, str, bool]] = {
    "Pod": ("", "v1", "pods", True),
    "Node": ("", "v1", "nodes", False),
    "Namespace": ("", "v1", "namespaces", False),
    "LimitRange": ("", "v1", "limitranges", True),
    "ConfigMap": ("", "v1", "configmaps", True),
    "ReplicationController": ("", "v1", "replicationcontrollers", True),
    "ReplicaSet": ("apps", "v1", "replicasets", True),
    "Deployment": ("apps", "v1", "deployments", True),
    "StatefulSet": ("apps", "v1", "statefulsets", True),
    "DaemonSet": ("apps", "v1", "daemonsets", True),
    "Job": ("batch", "v1", "jobs", True),
    "CronJob": ("batch", "v1", "cronjobs", True),
}
# Events exist in two groups with the same objects stored once in etcd; a stub keeps both
EVENT_GROUPS = {"v1": ("", "v1"), "events.k8s.io/v1": ("events.k8s.io", "v1")}


def strip(obj: dict[str, Any]) -> dict[str, Any]:
    """A list item as the API server sends it: no kind, no apiVersion."""
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


@dataclass
class Proxy:
    body: Any = None          # dict/list -> JSON, bytes/str -> as is
    status: int = 200
    delay: float = 0.0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    authorized: bool


@dataclass
class _Collection:
    kind: str
    items: list[dict[str, Any]] = field(default_factory=list)


class KubeStub:
    def __init__(self, directory: Path, *, token: str = "t0k3n",
                 user: str = "system:serviceaccount:oomguard:diagnose") -> None:
        self.directory = directory
        self.token = token
        self.user = user
        self.collections: dict[tuple[str, str, str], _Collection] = {}
        # (collection, namespace, name) -> object: a GET is a key lookup, as in etcd
        self._named: dict[tuple[tuple[str, str, str], str | None, str | None],
                          dict[str, Any]] = {}
        self.forbidden: set[str] = set()
        self.fail: dict[str, int] = {}
        self.proxies: dict[tuple[str, str], Proxy] = {}
        self.log: list[Request] = []
        self.resource_version = 1000
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        _, self.ca_file, self._cert, self._key = make_ca(directory)

    # -- content ------------------------------------------------------------------------------
    def add(self, *objects: dict[str, Any]) -> None:
        for obj in objects:
            kind, api_version = obj["kind"], obj.get("apiVersion", "v1")
            if kind == "Event":
                group, version = EVENT_GROUPS[api_version]
                key = (group, version, "events")
            else:
                group, version, plural, _ = KINDS[kind]
                key = (group, version, plural)
            self.resource_version += 1
            meta = obj.setdefault("metadata", {})
            meta.setdefault("resourceVersion", str(self.resource_version))
            self.collections.setdefault(key, _Collection(kind)).items.append(obj)
            self._named[(key, meta.get("namespace"), meta.get("name"))] = obj

    # -- what tests read ----------------------------------------------------------------------
    def methods(self) -> set[str]:
        with self._lock:
            return {r.method for r in self.log}

    def lists_of(self, plural: str, group: str = "") -> list[Request]:
        root = f"/apis/{group}/" if group else "/api/"
        with self._lock:
            return [r for r in self.log if r.path.startswith(root)
                    and r.path.rstrip("/").endswith("/" + plural)]

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def kubeconfig(self, path: Path, *, context: str = "stub", namespace: str | None = None,
                   token: str | None = None, extra_contexts: dict[str, str] | None = None,
                   server: str | None = None) -> Path:
        ctx: dict[str, Any] = {"cluster": "stub", "user": "stub"}
        if namespace:
            ctx["namespace"] = namespace
        contexts = [{"name": context, "context": ctx}]
        for name, ns in (extra_contexts or {}).items():
            contexts.append({"name": name, "context": {"cluster": "stub", "user": "stub",
                                                        "namespace": ns}})
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "stub", "cluster": {
                "server": server or self.url, "certificate-authority": str(self.ca_file)}}],
            "users": [{"name": "stub", "user": {"token": token or self.token}}],
            "contexts": contexts,
        }))
        return path

    # -- serving ------------------------------------------------------------------------------
    def start(self) -> KubeStub:
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        server.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self._cert), str(self._key))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # -- answers ------------------------------------------------------------------------------
    def _forbidden(self, verb: str, group: str, plural: str, namespace: str | None,
                   name: str | None = None) -> dict[str, Any]:
        label = f"{plural}.{group}" if group else plural
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        named = f' "{name}"' if name else ""
        return status(403, "Forbidden",
                      f'{label}{named} is forbidden: User "{self.user}" cannot {verb} '
                      f'resource "{plural}" in API group "{group}" {scope}')

    def _answer(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return 404, "404 page not found\n"
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest:
            return 404, "404 page not found\n"
        plural, name, sub = rest[0], rest[1] if len(rest) > 1 else None, rest[2:]
        key = (group, version, plural)
        known = key in self.collections or any(
            (g, v, p) == key for g, v, p, _ in KINDS.values()) or plural == "events"
        if not known:
            return 404, "404 page not found\n"
        label = f"{plural}.{group}" if group else plural
        if label in self.fail:
            code = self.fail[label]
            return code, status(code, "InternalError" if code >= 500 else "BadRequest",
                                f"stub failure for {label}")
        if plural == "nodes" and name and sub[:1] == ["proxy"]:
            if "nodes/proxy" in self.forbidden:
                return 403, self._forbidden("get", "", "nodes/proxy", None, name)
            return self._proxy(name, "/".join(sub[1:]))
        verb = "get" if name else "list"
        if label in self.forbidden:
            return 403, self._forbidden(verb, group, plural, namespace, name)
        if name:
            found = self._named.get((key, namespace, name))
            if found is not None:
                return 200, found
            return 404, {**status(404, "NotFound", f'{label} "{name}" not found'),
                         "details": {"name": name, "group": group, "kind": plural}}
        items = self.collections.get(key, _Collection("")).items
        if namespace is not None:
            items = [o for o in items if (o.get("metadata") or {}).get("namespace") == namespace]
        return self._list(key, items, query)

    def _list(self, key: tuple[str, str, str], items: list[dict[str, Any]],
              query: dict[str, str]) -> tuple[int, Any]:
        group, version, plural = key
        kind = self.collections[key].kind if key in self.collections else next(
            (k for k, (g, v, p, _) in KINDS.items() if (g, v, p) == key), "Event")
        start, rv = 0, str(self.resource_version)
        token = query.get("continue")
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
                start, rv = int(decoded["start"]), str(decoded["rv"])
            except (ValueError, KeyError, TypeError):
                return 400, status(400, "BadRequest",
                                   "continue key is not valid: illegal base64 data")
        limit = int(query.get("limit") or 0)
        end = len(items) if limit <= 0 else min(len(items), start + limit)
        meta: dict[str, Any] = {"resourceVersion": rv}
        if end < len(items):
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                {"start": end, "rv": rv}).encode()).decode()
            meta["remainingItemCount"] = len(items) - end
        return 200, {"kind": f"{kind}List",
                     "apiVersion": f"{group}/{version}" if group else version,
                     "metadata": meta, "items": [strip(o) for o in items[start:end]]}

    def _proxy(self, node: str, sub: str) -> tuple[int, Any]:
        if (("", "v1", "nodes"), None, node) not in self._named:
            return 404, status(404, "NotFound", f'nodes "{node}" not found')
        script = self.proxies.get((node, sub))
        if script is None:
            return 503, status(503, "ServiceUnavailable",
                               f"error trying to reach service: dial tcp 10.0.0.1:10250: "
                               f"connect: connection refused (node {node})")
        if script.delay:
            time.sleep(script.delay)
        return script.status, script.body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Go's net/http (kube-apiserver) sets TCP_NODELAY on every connection;
                # without it the body, written after the headers, waits for the client's
                # delayed ACK (~40 ms per request on Linux)
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: Any) -> None:
                if isinstance(body, (bytes, str)):
                    data = body.encode() if isinstance(body, str) else body
                    ctype = "text/plain; charset=utf-8"
                else:
                    data, ctype = json.dumps(body).encode(), "application/json"
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (OSError, ssl.SSLError):  # the client gave up (its timeout): fine
                    self.close_connection = True

            def _handle(self, method: str) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                # the scheme is case-insensitive, as kube-apiserver reads it (k8s.io/apiserver
                # pkg/authentication/request/bearertoken); the client's in-cluster loader
                # sends "bearer"
                scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
                authorized = scheme.lower() == "bearer" and token.strip() == stub.token
                with stub._lock:
                    stub.log.append(Request(method, url.path, query, authorized))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if not authorized:
                    self._send(401, status(401, "Unauthorized", "Unauthorized"))
                    return
                if method != "GET":
                    self._send(405, status(405, "MethodNotAllowed",
                                           "the stub API server serves GET only"))
                    return
                code, body = stub._answer(url.path, query)
                self._send(code, body)

            def do_GET(self) -> None:  # noqa: N802
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

            def do_PUT(self) -> None:  # noqa: N802
                self._handle("PUT")

            def do_PATCH(self) -> None:  # noqa: N802
                self._handle("PATCH")

            def do_DELETE(self) -> None:  # noqa: N802
                self._handle("DELETE")

        return Handler


@contextlib.contextmanager
def serving(directory: Path, **kwargs: Any) -> Iterator[KubeStub]:
    stub = KubeStub(directory, **kwargs).start()
    try:
        yield stub
    finally:
        stub.close()
