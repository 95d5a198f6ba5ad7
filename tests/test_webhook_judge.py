"""The pure review judge with a tiny fake engine: which requests are judged, how findings
become a decision, ratchet, owned pods, exemptions, and the review errors kept apart from
denials (HTTP 400 vs ``allowed: false``)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from oomguard.policies.config import Policy, build_policy
from oomguard.policies.engine import ObjectResult
from oomguard.policies.rule import Finding, ObjectRef, Severity
from oomguard.policies.source import SourceProblem
from oomguard.webhook.review import (
    MAX_WARNING,
    ClusterFacts,
    ReviewError,
    judge,
    parse_review,
    response,
    warning_text,
)
from tests.webhook_support import deployment, kubelet_config_map, pod, review

FINDINGS = "test.oomguard.io/findings"  # [[code, severity, container, message], ...]


class FakeEngine:
    """Reports the findings listed in an annotation of the object; records its calls."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or build_policy(None)
        self.calls: list[dict[str, Any]] = []

    def evaluate_object(self, obj: Any, **kwargs: Any) -> ObjectResult | None:
        self.calls.append({"object": obj, **kwargs})
        meta = obj.get("metadata") or {}
        if obj.get("kind") == "Nothing":
            return None
        spec = json.loads((meta.get("annotations") or {}).get(FINDINGS, "[]"))
        ref = ObjectRef(obj.get("apiVersion"), obj.get("kind"), meta.get("namespace"),
                        meta.get("name"))
        findings = [Finding(code, f"name-of-{code.lower()}", Severity.parse(severity),
                            message, None, None, None, ref, container, "spec")
                    for code, severity, container, message in spec]
        problems = [SourceProblem(p) for p in meta.get("problems", [])]
        return ObjectResult(ref, None, findings,
                            {"qos": "Burstable", "podMemoryRequest": 268435456}, problems)


def with_findings(obj: dict[str, Any], *findings: tuple[str, str, str | None, str]
                  ) -> dict[str, Any]:
    meta = obj.setdefault("metadata", {})
    meta.setdefault("annotations", {})[FINDINGS] = json.dumps([list(f) for f in findings])
    return obj


ERR = ("OOM101", "error", "app", "container app has no memory limit")
ERR_SIDECAR = ("OOM101", "error", "sidecar", "container sidecar has no memory limit")
WARN = ("OOM104", "warning", "app", "limit/request ratio 4.0 is above 2.0")
INFO = ("OOM001", "info", None, "ignore of OOM999 suppressed nothing")


def decide(body: dict[str, Any], engine: FakeEngine | None = None,
           cluster: ClusterFacts | None = None, own: str | None = "oomguard") -> Any:
    return judge(parse_review(body), engine or FakeEngine(), cluster or ClusterFacts(), own)


# -- what is judged -------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    review(pod(), operation="DELETE", old=pod()),
    review({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}),
    review({**kubelet_config_map("x"), "metadata": {"name": "other", "namespace": "kube-system"}},
           namespace="kube-system"),
    review(pod(), operation="UPDATE", old=pod(), sub_resource="status"),
    review(pod(), operation="UPDATE", old=pod(), sub_resource="ephemeralcontainers"),
], ids=["delete", "service", "other-configmap", "pods-status", "ephemeralcontainers"])
def test_untouched_requests_are_allowed_without_judging(body: dict[str, Any]) -> None:
    engine = FakeEngine()
    decision = judge(parse_review(body), engine, ClusterFacts())
    assert decision.allowed and decision.reason == "skipped" and not decision.warnings
    assert engine.calls == []


def test_a_custom_resource_named_like_a_builtin_is_not_judged() -> None:
    body = review(with_findings(deployment(None), ERR))
    body["request"]["kind"]["group"] = "example.com"
    assert decide(body).reason == "skipped"


def test_kinds_mapped_in_the_policy_are_judged_by_group_and_version() -> None:
    policy = build_policy({"kinds": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                      "podTemplate": "spec.template"}]})
    rollout = with_findings({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                             "metadata": {"name": "r"}, "spec": {}}, ERR)
    assert decide(review(rollout), FakeEngine(policy)).allowed is False
    other_version = review(rollout)
    other_version["request"]["kind"]["version"] = "v1beta9"
    assert decide(other_version, FakeEngine(policy)).reason == "skipped"
    assert decide(review(rollout)).reason == "skipped"  # not mapped


def test_an_object_the_engine_does_not_judge_is_allowed() -> None:
    body = review(with_findings(pod(), ERR))
    body["request"]["object"]["kind"] = "Nothing"
    assert decide(body).reason == "skipped"


def test_every_builtin_workload_kind_is_judged() -> None:
    for kind in ("Pod", "PodTemplate", "ReplicationController", "ReplicaSet", "Deployment",
                 "StatefulSet", "DaemonSet", "Job", "CronJob"):
        obj = with_findings({"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}}, ERR)
        for operation in ("CREATE", "UPDATE"):
            body = review(obj, operation=operation, old={**obj, "metadata": {"name": "x"}})
            assert decide(body).reason == "denied", (kind, operation)


# -- the decision ---------------------------------------------------------------------------


def test_errors_deny_with_403_and_one_line_per_finding() -> None:
    decision = decide(review(with_findings(pod(name="api"), ERR, ERR_SIDECAR, WARN),
                             namespace="team"))
    assert not decision.allowed and decision.code == 403 and decision.reason == "denied"
    assert decision.message == (
        "oomguard denied Pod team/api: OOM101 name-of-oom101: container app has no memory "
        "limit; OOM101 name-of-oom101: container sidecar has no memory limit")
    assert decision.warnings == ["OOM104 name-of-oom104: limit/request ratio 4.0 is above 2.0"]
    body = response("u-1", decision)
    assert body == {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                    "response": {"uid": "u-1", "allowed": False,
                                 "status": {"code": 403, "message": decision.message,
                                            "reason": "Forbidden"},
                                 "warnings": decision.warnings,
                                 "auditAnnotations": decision.audit_annotations}}


def test_warnings_are_prefixed_printable_and_at_most_256_characters() -> None:
    long = ("OOM131", "warning", "app", "heap\nflags -Xmx900m\t" + "x" * 400)
    decision = decide(review(with_findings(pod(), WARN, long)))
    assert decision.allowed and decision.reason == "warned"
    assert len(decision.warnings) == 2
    assert decision.warnings[0].startswith("OOM104 ")
    assert decision.warnings[1].startswith("OOM131 name-of-oom131: heap flags -Xmx900m ")
    assert all(len(w) <= MAX_WARNING and w.isprintable() for w in decision.warnings)
    assert decision.warnings[1].endswith("...")
    assert warning_text("é" * 300) == "é" * 253 + "..."
    # only control characters are replaced; other unprintable text (a no-break space, a
    # line separator) is kept as written
    assert warning_text("a\x7fb\x00\x01c") == "a b c"
    assert warning_text("64\u00a0Mi\u2028x") == "64\u00a0Mi\u2028x"


def test_input_problems_become_warnings() -> None:
    obj = pod()
    obj["metadata"]["problems"] = ["Pod default/p: the pod spec must be a mapping"]
    decision = decide(review(obj))
    assert decision.allowed
    assert decision.warnings == ["oomguard: Pod default/p: the pod spec must be a mapping"]


def test_info_findings_and_facts_go_to_audit_annotations() -> None:
    decision = decide(review(with_findings(pod(), INFO)))
    assert decision.allowed and decision.reason == "allowed" and not decision.warnings
    assert decision.audit_annotations == {
        "qos": "Burstable", "pod-memory-request": "268435456",
        "info": "OOM001 name-of-oom001: ignore of OOM999 suppressed nothing"}


def test_dry_run_gets_the_same_decision() -> None:
    wet = decide(review(with_findings(pod(), ERR)))
    dry = decide(review(with_findings(pod(), ERR), dry_run=True))
    assert (wet.allowed, wet.code, wet.message) == (dry.allowed, dry.code, dry.message)


# -- never the outage -----------------------------------------------------------------------


def test_ratchet_downgrades_only_errors_of_the_same_rule_and_container() -> None:
    old = with_findings(deployment(None), ERR)
    new = with_findings(deployment(None, replicas=9), ERR, ERR_SIDECAR)
    decision = decide(review(new, operation="UPDATE", old=old))
    assert not decision.allowed  # the sidecar's OOM101 is new
    assert "sidecar" in (decision.message or "") and "container app" not in (decision.message or "")
    assert any(w.startswith("OOM101") and "already present before this update" in w
               for w in decision.warnings)
    scaled = decide(review(with_findings(deployment(None, replicas=9), ERR), operation="UPDATE",
                           old=old))
    assert scaled.allowed and scaled.reason == "warned"


def test_ratchet_can_be_turned_off_and_needs_an_old_object() -> None:
    old = with_findings(deployment(None), ERR)
    new = with_findings(deployment(None, replicas=9), ERR)
    strict = FakeEngine(build_policy({"webhook": {"ratchet": False}}))
    assert not decide(review(new, operation="UPDATE", old=old), strict).allowed
    assert not decide(review(new, operation="CREATE")).allowed


def test_the_old_object_is_only_judged_when_there_is_an_error() -> None:
    engine = FakeEngine()
    decide(review(with_findings(pod(), WARN), operation="UPDATE", old=pod()), engine)
    assert len(engine.calls) == 1


def test_pods_owned_by_controllers_get_warnings_only() -> None:
    for owner in ("ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"):
        decision = decide(review(with_findings(pod(owner=owner), ERR)))
        assert decision.allowed, owner
        assert decision.warnings == [
            f"OOM101 name-of-oom101: container app has no memory limit (its {owner} was "
            "judged already)"]
    # not a controller, or an owner kind that is not a pod controller: judged
    not_controller = with_findings(pod(owner="ReplicaSet"), ERR)
    not_controller["metadata"]["ownerReferences"][0]["controller"] = False
    assert not decide(review(not_controller)).allowed
    assert not decide(review(with_findings(pod(owner="Rollout"), ERR))).allowed
    strict = FakeEngine(build_policy({"webhook": {"validate-owned-pods": True}}))
    assert not decide(review(with_findings(pod(owner="ReplicaSet"), ERR)), strict).allowed


def test_a_resize_is_judged_even_for_an_owned_pod_and_ratcheted() -> None:
    before = pod(owner="ReplicaSet")
    resized = with_findings(pod(owner="ReplicaSet"), ERR)
    decision = decide(review(resized, operation="UPDATE", old=before, sub_resource="resize"))
    assert not decision.allowed and "OOM101" in (decision.message or "")
    ratcheted = decide(review(resized, operation="UPDATE",
                              old=with_findings(pod(owner="ReplicaSet"), ERR),
                              sub_resource="resize"))
    assert ratcheted.allowed


def test_exempt_namespaces() -> None:
    bad = with_findings(pod(), ERR)
    for namespace in ("kube-system", "oomguard"):
        decision = decide(review(bad, namespace=namespace))
        assert decision.allowed and decision.reason == "exempt" and not decision.warnings
    custom = FakeEngine(build_policy({"exclude": {"namespaces": ["batch"]}}))
    assert decide(review(bad, namespace="batch"), custom).reason == "exempt"
    assert decide(review(bad, namespace="kube-system"), custom).reason == "denied"
    assert decide(review(bad, namespace="default")).reason == "denied"


def test_the_kubelet_config_map_is_judged_in_kube_system() -> None:
    cm = with_findings(kubelet_config_map("kind: KubeletConfiguration\n"),
                       ("OOM201", "error", None, "evictionHard has no memory.available"))
    decision = decide(review(cm, namespace="kube-system"))
    assert not decision.allowed
    assert "ConfigMap kube-system/kubelet-config: OOM201" in (decision.message or "")


# -- what the engine is given ------------------------------------------------------------------


def test_the_engine_gets_namespace_limit_ranges_and_node_sizes() -> None:
    engine = FakeEngine()
    cluster = ClusterFacts(limit_ranges={"team": ["lr-team"], "other": ["lr-other"]},
                           node_memory=Decimal(64 << 30), node_allocatable=Decimal(60 << 30))
    decide(review(deployment(None), namespace="team"), engine, cluster)
    call = engine.calls[0]
    assert call["object"]["metadata"]["namespace"] == "team"  # from request.namespace
    assert call["limit_ranges"] == ["lr-team"]
    assert call["node_memory"] == Decimal(64 << 30)
    assert call["node_allocatable"] == Decimal(60 << 30)
    assert call["allow_annotation_ignores"] is True
    strict = FakeEngine(build_policy({"webhook": {"allow-annotation-ignores": False}}))
    decide(review(deployment(None)), strict)
    assert strict.calls[0]["allow_annotation_ignores"] is False


# -- review errors are not denials ----------------------------------------------------------


def _body(**request: Any) -> dict[str, Any]:
    base = review(pod())
    base["request"] = {k: v for k, v in {**base["request"], **request}.items()
                       if v is not ...}
    return base


@pytest.mark.parametrize("body,needle", [
    ([], "JSON object"),
    ({"apiVersion": "admission.k8s.io/v1", "kind": "Pod"}, "AdmissionReview"),
    ({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {}},
     "v1beta1"),
    ({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}, "no request"),
    (_body(uid=...), "uid"),
    (_body(uid=""), "uid"),
    (_body(object=...), "object"),
    (_body(object=[1]), "object"),
    (_body(kind=...), "request.kind"),
    (_body(kind="Pod"), "request.kind"),
    (_body(operation="PATCH"), "operation"),
    (_body(namespace=7), "namespace"),
    (_body(operation="UPDATE", oldObject="x"), "oldObject"),
])
def test_review_errors(body: Any, needle: str) -> None:
    with pytest.raises(ReviewError, match=needle) as info:
        parse_review(body)
    assert info.value.status == 400


def test_a_delete_needs_no_object() -> None:
    body = review(None, operation="DELETE", old=pod(), kind="Pod")
    assert parse_review(body)["object"] is None
