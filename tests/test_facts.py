"""QoS, pod memory request and oom_score_adj, against the upstream formulas."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oomguard.policies.source import iter_documents
from oomguard.policies.workload.facts import oom_score_adj, pod_facts, pod_memory_request, qos_class
from oomguard.policies.workload.model import build_pod_model

GI = 1 << 30
MI = 1 << 20


def pod(spec: str, kind: str = "Pod"):  # type: ignore[no-untyped-def]
    body = "\n".join("  " + line for line in spec.strip("\n").splitlines())
    text = f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: p}}\nspec:\n{body}\n"
    return build_pod_model(next(iter_documents(text)).data, None)


def test_besteffort_guaranteed_burstable() -> None:
    assert qos_class(pod("containers: [{name: a}]")) == "BestEffort"
    assert qos_class(pod("containers: [{name: a, resources: {limits: {cpu: 1, memory: 1Gi}}}]")) \
        == "Guaranteed"  # requests defaulted from limits
    assert qos_class(pod("containers: [{name: a, resources: {limits: {memory: 1Gi}}}]")) \
        == "Burstable"  # no cpu limit


def test_init_container_and_sidecar_count_for_qos() -> None:
    spec = """
initContainers:
- {name: init, resources: {requests: {memory: 10Mi}}}
containers:
- {name: a, resources: {limits: {cpu: 1, memory: 1Gi}}}
"""
    assert qos_class(pod(spec)) == "Burstable"


def test_ephemeral_containers_do_not_count() -> None:
    spec = """
containers:
- {name: a, resources: {limits: {cpu: 1, memory: 1Gi}}}
ephemeralContainers:
- {name: debug, image: busybox}
"""
    assert qos_class(pod(spec)) == "Guaranteed"


def test_qos_compares_sums_not_containers() -> None:
    # qos.go sums per resource; each container needs both limits, sums must match.
    spec = """
containers:
- {name: a, resources: {requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 1, memory: 2Gi}}}
- {name: b, resources: {requests: {cpu: 1, memory: 2Gi}, limits: {cpu: 1, memory: 1Gi}}}
"""
    assert qos_class(pod(spec)) == "Guaranteed"


def test_pod_level_resources_decide_alone() -> None:
    spec = """
resources: {limits: {cpu: 2, memory: 2Gi}}
containers:
- {name: a}
"""
    assert qos_class(pod(spec)) == "Guaranteed"


def test_pod_level_hugepages_alone_do_not_decide_qos() -> None:
    spec = """
resources: {limits: {hugepages-2Mi: 2Mi}}
containers:
- {name: a, resources: {limits: {cpu: 1, memory: 1Gi}}}
"""
    assert qos_class(pod(spec)) == "Guaranteed"


def test_pod_memory_request_with_sidecars_and_init() -> None:
    spec = """
initContainers:
- {name: s1, restartPolicy: Always, resources: {requests: {memory: 100Mi}}}
- {name: big-init, resources: {requests: {memory: 1Gi}}}
- {name: s2, restartPolicy: Always, resources: {requests: {memory: 50Mi}}}
containers:
- {name: a, resources: {requests: {memory: 200Mi}}}
overhead: {memory: 10Mi}
"""
    # max(200 + 100 + 50, 1024 + 100) + 10
    assert pod_memory_request(pod(spec)) == (1124 + 10) * MI


def test_pod_level_request_replaces_aggregate_plus_overhead() -> None:
    spec = """
resources: {requests: {memory: 3Gi}}
overhead: {memory: 1Mi}
containers: [{name: a, resources: {requests: {memory: 1Gi}}}]
"""
    assert pod_memory_request(pod(spec)) == 3 * GI + MI


@pytest.mark.parametrize("request_mi,expected", [
    (1024, 1000 - (1000 * 1024 * MI) // (16 * GI)),  # 938
    (0, 999),  # 1000 becomes 999
    (16 * 1024, 3),  # clamped to 1000 + (-997)
])
def test_burstable_oom_score_adj(request_mi: int, expected: int) -> None:
    model = pod(f"containers: [{{name: a, resources: {{requests: {{memory: {request_mi}Mi}}, "
                f"limits: {{memory: 32Gi}}}}}}]")
    assert oom_score_adj(model, model.containers[0], 16 * GI) == expected


def test_sidecar_never_killed_before_the_app() -> None:
    spec = """
initContainers:
- {name: side, restartPolicy: Always, resources: {requests: {memory: 16Mi}}}
containers:
- {name: app, resources: {requests: {memory: 4Gi}, limits: {memory: 8Gi}}}
"""
    model = pod(spec)
    facts = pod_facts(model, Decimal(16 * GI))
    by_name = {c["name"]: c for c in facts["containers"]}
    assert by_name["app"]["oomScoreAdj"] == 750
    assert by_name["side"]["oomScoreAdj"] == 750  # capped at the app's value


def test_guaranteed_besteffort_node_critical() -> None:
    g = pod("containers: [{name: a, resources: {limits: {cpu: 1, memory: 1Gi}}}]")
    assert oom_score_adj(g, g.containers[0], None) == -997
    b = pod("containers: [{name: a}]")
    assert oom_score_adj(b, b.containers[0], None) == 1000
    c = pod("priorityClassName: system-node-critical\ncontainers: [{name: a}]")
    assert oom_score_adj(c, c.containers[0], None) == -997


def test_burstable_unknown_without_node_memory() -> None:
    model = pod("containers: [{name: a, resources: {requests: {memory: 1Gi}}}]")
    assert pod_facts(model, None)["containers"][0]["oomScoreAdj"] is None


def test_pod_level_request_spread_over_containers() -> None:
    # remainingPodMemReqPerContainer: (pod request - aggregate) / number of containers
    spec = """
resources: {requests: {memory: 4Gi}}
containers:
- {name: a, resources: {requests: {memory: 1Gi}}}
- {name: b}
"""
    model = pod(spec)
    remaining = (4 * GI - GI) // 2
    expected = 1000 - (1000 * (GI + remaining)) // (16 * GI)
    assert oom_score_adj(model, model.containers[0], 16 * GI) == expected


def test_templates_get_pod_defaulting() -> None:
    text = """apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers: [{name: a, resources: {limits: {cpu: 1, memory: 1Gi}}}]
"""
    model = build_pod_model(next(iter_documents(text)).data, ("spec", "template"))
    assert qos_class(model) == "Guaranteed"
    assert model.containers[0].memory_request.source == "limit"  # type: ignore[union-attr]


@pytest.mark.parametrize("spec", [
    "containers: [{name: a, image: x}]",
    "containers: [{name: a, image: x, resources: {limits: {memory: 1Gi, cpu: '1'}}}]",
    "containers: [{name: a, image: x, resources: {requests: {memory: 64Mi}}}]",
    "initContainers: [{name: s, image: x, restartPolicy: Always,"
    " resources: {requests: {memory: 32Mi}}}]\n"
    "containers: [{name: a, image: x, resources: {requests: {memory: 64Mi}}}]\n"
    "overhead: {memory: 8Mi}",
    "resources: {requests: {memory: 1Gi}}\n"
    "containers: [{name: a, image: x, resources: {requests: {memory: 64Mi}}}]",
])
def test_result_summary_matches_the_facts(spec: str) -> None:
    # the webhook annotates the summary; JSON output shows the facts: they must agree
    from oomguard.policies.config import load_policy
    from oomguard.policies.engine import Engine

    body = "\n".join("  " + line for line in spec.splitlines())
    text = f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n{body}\n"
    engine = Engine(load_policy(None))
    summary = engine.evaluate_object(next(iter_documents(text)).data).summary()
    facts = engine.evaluate_object(next(iter_documents(text)).data).facts
    assert summary == {"qos": facts["qos"], "podMemoryRequest": facts["podMemoryRequest"]}
