"""The LimitRange/Node watch against a small local API server speaking the list/watch wire
format: a list, a watch that delivers an event and then drops, a 410 Gone, a relist."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from policies.config import build_policy
from tests.webhook_support import wait_for
from webhook.cluster import ClusterView

GI = 1 << 30


def limit_range(name: str, namespace: str, memory: str, rv: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "LimitRange",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": rv},
            "spec": {"limits": [{"type": "Container", "default": {"memory": memory}}]}}


def node(name: str, capacity: str, allocatable: str, rv: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "resourceVersion": rv},
            "status": {"capacity": {"memory": capacity}, "allocatable": {"memory": allocatable}}}


class FakeAPI:
    """Scripted answers: lists by call number, watches by call number."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.stop = threading.Event()
        self.lists = {
            "limitranges": [
                ("1", [limit_range("mem", "team", "512Mi", "1")]),
                ("5", [limit_range("mem", "team", "1Gi", "5")]),
            ],
            "nodes": [("1", [node("n1", "16Gi", "14Gi", "1")])],
        }
        self.watches = {
            "limitranges": [
                # an event, then the connection drops
                [{"type": "ADDED", "object": limit_range("extra", "other", "2Gi", "2")}],
                # the resourceVersion is too old
                [{"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
                                              "status": "Failure", "reason": "Expired",
                                              "message": "too old resource version",
                                              "code": 410}}],
            ],
            "nodes": [[{"type": "ADDED", "object": node("n2", "64Gi", "60Gi", "2")}]],
        }

    def handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                resource = url.path.rsplit("/", 1)[-1]
                watching = parse_qs(url.query).get("watch", ["false"])[0].lower() == "true"
                api.calls.append((resource, "watch" if watching else "list"))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                if not watching:
                    count = sum(1 for r, v in api.calls if r == resource and v == "list")
                    script = api.lists[resource]
                    rv, items = script[min(count, len(script)) - 1]
                    self.wfile.write(json.dumps({"kind": "List", "apiVersion": "v1",
                                                 "metadata": {"resourceVersion": rv},
                                                 "items": items}).encode())
                    return
                count = sum(1 for r, v in api.calls if r == resource and v == "watch")
                events = api.watches[resource]
                if count <= len(events):
                    for event in events[count - 1]:
                        self.wfile.write(json.dumps(event).encode() + b"\n")
                        self.wfile.flush()
                    return  # the stream ends: a dropped connection
                api.stop.wait(20)  # a quiet watch until the test is over

        return Handler


@pytest.fixture
def fake_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAPI]:
    api = FakeAPI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), api.handler())
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {
            "server": f"http://127.0.0.1:{server.server_address[1]}"}}],
        "users": [{"name": "fake", "user": {"token": "t"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
    }))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    yield api
    api.stop.set()
    server.shutdown()


def test_watch_recovers_from_drop_and_410_by_relisting(fake_api: FakeAPI) -> None:
    view = ClusterView(build_policy({"node": {"memory": "8Gi", "allocatable": "7Gi"}}))
    view.start()
    try:
        # nodes: the list, then a node added by the watch; the largest one counts
        assert wait_for(lambda: view.facts().node_allocatable == Decimal(60 * GI))
        assert view.facts().node_memory == Decimal(64 * GI)

        def memories() -> list[str]:
            return sorted(lr["spec"]["limits"][0]["default"]["memory"]
                          for lr in view.facts().limit_ranges)

        # list -> watch (event, then dropped) -> watch (410) -> relist with the new state
        assert wait_for(lambda: memories() == ["1Gi"]), (memories(), fake_api.calls)
        lr_calls = [v for r, v in fake_api.calls if r == "limitranges"]
        assert lr_calls[:4] == ["list", "watch", "watch", "list"]
        assert view.connected
    finally:
        view.stopped.set()


def test_without_api_access_the_policy_node_values_are_used(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    view = ClusterView(build_policy({"node": {"memory": "8Gi", "allocatable": "7Gi"}}))
    with caplog.at_level("WARNING", logger="oomguard.webhook"):
        view.start()
    assert "no-api-access" in caplog.text
    facts = view.facts()
    assert facts.node_memory == Decimal(8 * GI) and facts.node_allocatable == Decimal(7 * GI)
    assert not view.connected


def test_judge_uses_cluster_limit_ranges(fake_api: FakeAPI) -> None:
    from policies.engine import Engine
    from webhook.review import judge

    view = ClusterView(build_policy(None))
    view.start()
    try:
        assert wait_for(lambda: bool(view.facts().limit_ranges))
        obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}}
        request = {"uid": "1", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                   "operation": "CREATE", "namespace": "team", "object": obj}
        decision = judge(request, Engine(build_policy(None)), view.facts())
        assert "OOM101" not in {f.rule for f in decision.findings}  # defaulted by the LimitRange
        request["namespace"] = "elsewhere"
        decision = judge(request, Engine(build_policy(None)), view.facts())
        assert "OOM101" in {f.rule for f in decision.findings}
    finally:
        view.stopped.set()
