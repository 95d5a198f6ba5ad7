"""The LimitRange/Node list+watch against a small local API server speaking the wire format
(lists without item kinds, chunked watch streams): events, a clean end resumed from the last
resourceVersion, a dropped stream, a 410 Gone event and a 410 answer, each recovered by
listing again; RBAC refusing; no API access at all."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from oomguard.policies.config import build_policy
from oomguard.policies.engine import Engine
from oomguard.webhook import cluster as cluster_module
from oomguard.webhook.cluster import ClusterView
from oomguard.webhook.review import judge, parse_review
from tests.webhook_support import (
    FakeAPI,
    Watch,
    deployment,
    event,
    limit_range,
    node,
    review,
    serving,
    wait_for,
)

GI = 1 << 30
FALLBACK = {"node": {"memory": "8Gi", "allocatable": "7Gi"}}


@pytest.fixture
def fake_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAPI]:
    api = FakeAPI()
    with serving(api):
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(tmp_path / "kubeconfig")))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        yield api


@pytest.fixture
def views() -> Iterator[list[ClusterView]]:
    started: list[ClusterView] = []
    yield started
    for view in started:
        view.stopped.set()


def start(views: list[ClusterView], policy: dict[str, Any] | None = None) -> ClusterView:
    view = ClusterView(build_policy(policy or FALLBACK))
    views.append(view)
    view.start()
    return view


def defaults(view: ClusterView) -> dict[str, list[str]]:
    """namespace -> the memory limit defaults of its LimitRanges"""
    return {ns: sorted(str(d.limits["memory"].raw) for d in items)
            for ns, items in view.facts().limit_ranges.items()}


def test_limit_ranges_through_every_kind_of_watch_ending(fake_api: FakeAPI,
                                                         views: list[ClusterView]) -> None:
    holds = [threading.Event() for _ in range(2)]
    fake_api.lists["limitranges"] = [
        ("10", [limit_range("mem", "team", "512Mi", "10")]),
        ("20", [limit_range("mem", "team", "1Gi", "20")]),
        ("30", [limit_range("mem", "team", "2Gi", "30")]),
        ("40", [limit_range("mem", "team", "4Gi", "40"),
                limit_range("mem", "batch", "8Gi", "40")]),
    ]
    fake_api.watches["limitranges"] = [
        # events, then the stream ends cleanly (its timeout): resumed from resourceVersion 12
        Watch([event("ADDED", limit_range("mem", "other", "256Mi", "11"), "LimitRange"),
               event("BOOKMARK", {"metadata": {"resourceVersion": "12"}}, "LimitRange")],
              "close", holds[0]),
        # a deletion, then the connection is cut mid-event: relist
        Watch([event("DELETED", limit_range("mem", "other", "256Mi", "13"), "LimitRange")],
              "drop", holds[1]),
        Watch([], "gone"),  # ERROR 410 event: relist
        Watch([], "status-410"),  # the watch request itself answered 410: relist
    ]
    view = start(views)
    assert wait_for(lambda: defaults(view) == {"team": ["512Mi"], "other": ["256Mi"]})
    holds[0].set()
    assert wait_for(lambda: defaults(view) == {"team": ["512Mi"]})
    holds[1].set()
    assert wait_for(lambda: defaults(view) == {"team": ["4Gi"], "batch": ["8Gi"]}), \
        (defaults(view), fake_api.verbs("limitranges"))
    assert fake_api.verbs("limitranges")[:9] == [
        "list", "watch", "watch", "list", "watch", "list", "watch", "list", "watch"]
    watches = fake_api.calls_of("limitranges", "watch")
    assert [w.params["resourceVersion"] for w in watches[:5]] == ["10", "12", "20", "30", "40"]
    assert all(w.params.get("allowWatchBookmarks") == "true" for w in watches)
    assert all("timeoutSeconds" in w.params for w in watches)
    assert view.state == "synced" and view.ready()


def test_the_largest_node_decides_and_heartbeats_change_nothing(
        fake_api: FakeAPI, views: list[ClusterView]) -> None:
    hold = threading.Event()
    fake_api.lists["nodes"] = [("1", [node("small", "16Gi", "14Gi", "1")])]
    fake_api.watches["nodes"] = [Watch([
        event("ADDED", node("big", "64Gi", "60Gi", "2"), "Node"),
        event("MODIFIED", node("big", "64Gi", "60Gi", "3"), "Node"),
    ], "hang", hold)]
    view = start(views)
    assert wait_for(lambda: view.facts().node_allocatable == Decimal(60 * GI))
    assert view.facts().node_memory == Decimal(64 * GI)
    snapshot = view.facts()
    view._apply("nodes", "MODIFIED", event("MODIFIED", node("big", "64Gi", "60Gi", "4"),
                                           "Node")["object"])
    assert view.facts() is snapshot  # a status heartbeat does not rebuild the snapshot
    view._apply("nodes", "DELETED", node("big", "64Gi", "60Gi", "5"))
    assert view.facts().node_allocatable == Decimal(14 * GI)


def test_rbac_refusal_falls_back_and_says_so_once(
        fake_api: FakeAPI, views: list[ClusterView], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(cluster_module, "MAX_BACKOFF", 0.05)
    fake_api.forbidden = {"limitranges", "nodes"}
    with caplog.at_level("INFO", logger="oomguard.webhook"):
        view = start(views)
        assert wait_for(lambda: len(fake_api.calls_of("nodes", "list")) >= 4)
    assert caplog.text.count("no-api-access") == 1 and "HTTP 403" in caplog.text
    assert "watch-failed" not in caplog.text
    facts = view.facts()
    assert facts.node_memory == Decimal(8 * GI) and facts.node_allocatable == Decimal(7 * GI)
    assert view.state == "fallback" and view.ready()
    # RBAC fixed later: the view picks the cluster up
    fake_api.lists["nodes"] = [("5", [node("n", "32Gi", "30Gi", "5")])]
    fake_api.forbidden = set()
    assert wait_for(lambda: view.facts().node_allocatable == Decimal(30 * GI))
    assert wait_for(lambda: view.state == "synced")


def test_without_api_access_the_policy_node_values_are_used(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        views: list[ClusterView]) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with caplog.at_level("WARNING", logger="oomguard.webhook"):
        view = start(views)
    assert caplog.text.count("no-api-access") == 1
    facts = view.facts()
    assert facts.node_memory == Decimal(8 * GI) and facts.node_allocatable == Decimal(7 * GI)
    assert view.state == "fallback" and view.ready()
    view.set_policy(build_policy({"node": {"memory": "4Gi"}}))  # a reloaded policy counts
    assert view.facts().node_memory == Decimal(4 * GI)


def test_in_cluster_without_a_token_is_no_api_access(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        views: list[ClusterView]) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "1")
    with caplog.at_level("WARNING", logger="oomguard.webhook"):
        view = start(views)
    assert "no-api-access" in caplog.text and view.state == "fallback"


def test_not_ready_while_the_first_lists_are_pending(
        fake_api: FakeAPI, views: list[ClusterView], monkeypatch: pytest.MonkeyPatch) -> None:
    view = ClusterView(build_policy(None))
    views.append(view)
    view.access = "api"  # as if started, before any list arrived
    assert view.state == "syncing" and not view.ready()
    monkeypatch.setattr(cluster_module, "SYNC_GRACE", 0.0)
    assert view.ready()  # after the grace period it serves with what it has


def test_judge_uses_cluster_limit_ranges(fake_api: FakeAPI, views: list[ClusterView]) -> None:
    # list items come without kind/apiVersion, as kube-apiserver sends them
    fake_api.lists["limitranges"] = [("1", [limit_range("mem", "team", "512Mi", "1")])]
    view = start(views, {})
    assert wait_for(lambda: bool(view.facts().limit_ranges))
    engine = Engine(build_policy(None))
    decision = judge(parse_review(review(deployment(None), namespace="team")), engine,
                     view.facts())
    rules = {f.rule for f in decision.findings}
    assert "OOM101" not in rules  # defaulted by the LimitRange
    decision = judge(parse_review(review(deployment(None), namespace="elsewhere")), engine,
                     view.facts())
    assert "OOM101" in {f.rule for f in decision.findings}
