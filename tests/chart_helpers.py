"""Helpers for tests/test_chart.py: render the chart with Helm's engine (helm-python-sdk),
and a stand-in Kubernetes API server for the chart's ``lookup`` calls.

Rendering, as ``helm template`` does it::

    import helm_python as helm
    chart = helm.Chart.load("charts/oomguard")
    manifests = chart.render(values, name="oomguard", namespace="oomguard", is_install=True)

``manifests`` maps a template path (``oomguard/templates/deployment.yaml``) to its rendered
text; there are no ``# Source:`` comments, partials (``_helpers.tpl``) are absent, a template
that renders nothing is ``"\\n"`` and ``NOTES.txt`` is included. ``render`` merges the chart's
default values and validates them against ``values.schema.json`` first; ``lookup`` returns
nothing. ``helm.Config(kube_apiserver=URL).render(chart, ...)`` is the same with ``lookup``
answered by the API server at URL.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from oomguard.policies.source import iter_documents
from tests.webhook_support.fake_api import send_json

Manifest = dict[str, Any]


def objects_of(manifests: Mapping[str, str]) -> list[Manifest]:
    """The Kubernetes objects in rendered templates, in template order."""
    objects: list[Manifest] = []
    for name in sorted(manifests):
        if name.endswith((".yaml", ".yml")):
            objects.extend(d.data for d in iter_documents(manifests[name])
                           if isinstance(d.data, dict))
    return objects


def as_yaml_stream(manifests: Mapping[str, str]) -> str:
    """One multi-document YAML text, as ``helm template`` prints it."""
    parts = [f"---\n# Source: {name}\n{text.strip()}\n" for name, text in sorted(manifests.items())
             if name.endswith((".yaml", ".yml")) and text.strip()]
    return "".join(parts)


def find_all(objects: list[Manifest], kind: str) -> list[Manifest]:
    return [obj for obj in objects if obj.get("kind") == kind]


def find(objects: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    for obj in find_all(objects, kind):
        if name is None or obj["metadata"]["name"] == name:
            return obj
    raise AssertionError(f"no {kind} {name or ''} among {[o.get('kind') for o in objects]}")


_OBJECT_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/([^/]+)/([^/]+)$")


class _Handler(BaseHTTPRequestHandler):
    store: dict[tuple[str, str, str], Manifest] = {}  # (namespace, plural, name) -> object

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        path = self.path.split("?", 1)[0]
        if path == "/api/v1":
            plurals = {(plural, obj["kind"]) for (_, plural, _), obj in self.store.items()}
            self._send(200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                {"name": plural, "singularName": kind.lower(), "namespaced": True,
                 "kind": kind, "verbs": ["get", "list"]} for plural, kind in sorted(plurals)]})
            return
        match = _OBJECT_PATH.match(path)
        found = self.store.get((match[1], match[2], match[3])) if match else None
        if found is not None:
            self._send(200, found)
        else:
            self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                             "reason": "NotFound", "code": 404})

    def _send(self, code: int, body: Manifest) -> None:
        send_json(self, code, body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass


@contextmanager
def fake_kube_api(objects: list[Manifest], plural: str = "secrets") -> Iterator[str]:
    """A plain-HTTP stand-in for the API server that serves ``objects`` (core/v1, all of the
    resource ``plural``) to Helm's ``lookup``; yields its URL."""
    store = {(o["metadata"]["namespace"], plural, o["metadata"]["name"]): o for o in objects}
    handler = type("Handler", (_Handler,), {"store": store})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
