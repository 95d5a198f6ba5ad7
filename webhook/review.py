"""AdmissionReview in, AdmissionReview out: a pure function of the review and the engine.

Errors in the review itself (not JSON, wrong apiVersion, no uid, ...) raise
:class:`ReviewError` and become HTTP 400s; findings about the object become an admission
decision. The two never mix (kopf keeps them apart the same way).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from policies.config import Policy
from policies.engine import Engine, ObjectResult
from policies.rule import Finding, Severity

API_VERSION = "admission.k8s.io/v1"
MAX_WARNING = 256
# A Pod created by one of these controllers was judged through its controller already.
OWNER_KINDS = frozenset({"ReplicaSet", "StatefulSet", "DaemonSet", "Job",
                         "ReplicationController"})
POD_KINDS = frozenset({"Pod", "PodTemplate", "ReplicationController", "ReplicaSet",
                       "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"})


class ReviewError(Exception):
    """The request is not an AdmissionReview we can answer (HTTP 400)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ClusterFacts:
    """What the cluster tells us (or the policy's fallbacks)."""

    limit_ranges: Sequence[Mapping[str, Any]] = ()
    node_memory: Decimal | None = None
    node_allocatable: Decimal | None = None


@dataclass
class Decision:
    allowed: bool
    code: int = 200
    message: str | None = None
    warnings: list[str] = field(default_factory=list)
    audit_annotations: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    judged: bool = False
    reason: str = "allowed"  # for logs and metrics: allowed, denied, warned, skipped, exempt


def parse_review(data: Any) -> dict[str, Any]:
    """Validate the envelope; return ``request``."""
    if not isinstance(data, dict):
        raise ReviewError("the body must be a JSON object (an AdmissionReview)")
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if kind != "AdmissionReview":
        raise ReviewError(f"expected kind AdmissionReview, got {kind!r}")
    if api_version != API_VERSION:
        raise ReviewError(f"unsupported apiVersion {api_version!r}: only {API_VERSION} is "
                          "served (set admissionReviewVersions: [v1])")
    request = data.get("request")
    if not isinstance(request, dict):
        raise ReviewError("the AdmissionReview has no request")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise ReviewError("request.uid is missing")
    if request.get("operation") in ("CREATE", "UPDATE") and not isinstance(
            request.get("object"), dict):
        raise ReviewError("request.object is missing")
    return request


def response(uid: str, decision: Decision) -> dict[str, Any]:
    body: dict[str, Any] = {"uid": uid, "allowed": decision.allowed}
    if not decision.allowed:
        body["status"] = {"code": decision.code, "message": decision.message or "denied",
                          "reason": "Forbidden" if decision.code == 403 else "InternalError"}
    if decision.warnings:
        body["warnings"] = decision.warnings
    if decision.audit_annotations:
        body["auditAnnotations"] = decision.audit_annotations
    return {"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": body}


def _line(finding: Finding) -> str:
    return f"{finding.rule} {finding.name}: {finding.message}"


def _warning(finding: Finding) -> str:
    text = _line(finding)
    return text if len(text) <= MAX_WARNING else text[:MAX_WARNING - 1] + "…"


def _owned_by_controller(obj: Mapping[str, Any]) -> str | None:
    meta = obj.get("metadata")
    owners = meta.get("ownerReferences") if isinstance(meta, dict) else None
    for owner in owners if isinstance(owners, list) else []:
        if isinstance(owner, dict) and owner.get("controller") and \
                owner.get("kind") in OWNER_KINDS:
            return str(owner.get("kind"))
    return None


def _downgrade(finding: Finding, why: str) -> Finding:
    return Finding(finding.rule, finding.name, Severity.WARNING, f"{finding.message} ({why})",
                   finding.file, finding.line, finding.column, finding.object,
                   finding.container, finding.path)


def is_kubelet_config(request: Mapping[str, Any]) -> bool:
    kind = (request.get("kind") or {}).get("kind")
    return kind == "ConfigMap" and request.get("namespace") == "kube-system" and \
        request.get("name") == "kubelet-config"


def judges_kind(kind: str | None, group: str | None, policy: Policy) -> bool:
    if kind in POD_KINDS:
        return True
    return any(m.get("kind") == kind for m in policy.kinds)


def judge(request: Mapping[str, Any], engine: Engine, cluster: ClusterFacts,
          own_namespace: str | None = None, raw: str | None = None) -> Decision:
    """The admission decision for one request (raises only for internal errors).

    ``raw`` is the request body as received, if at hand: it lets the engine skip scans for
    words the body does not contain."""
    policy = engine.policy
    settings = policy.webhook
    operation = request.get("operation")
    kind_info: Mapping[str, Any] = request.get("kind") or {}
    kind = kind_info.get("kind")
    if operation not in ("CREATE", "UPDATE"):
        return Decision(True, reason="skipped")
    kubelet_config = is_kubelet_config(request)
    if not kubelet_config and not judges_kind(kind, kind_info.get("group"), policy):
        return Decision(True, reason="skipped")
    namespace = request.get("namespace")
    exempt = set(policy.exclude_namespaces or ("kube-system",))
    if own_namespace:
        exempt.add(own_namespace)
    if not kubelet_config and namespace in exempt:
        return Decision(True, reason="exempt")
    obj = copy.copy(request["object"])
    if namespace and isinstance(obj.get("metadata"), dict) and \
            not obj["metadata"].get("namespace"):
        obj["metadata"] = {**obj["metadata"], "namespace": namespace}
    allow_ignores = bool(settings.get("allow-annotation-ignores", True))
    limit_ranges = [lr for lr in cluster.limit_ranges
                    if (lr.get("metadata") or {}).get("namespace") == namespace]

    def evaluate(target: Mapping[str, Any]) -> ObjectResult | None:
        return engine.evaluate_object(target, text=raw, limit_ranges=limit_ranges,
                                      node_memory=cluster.node_memory,
                                      node_allocatable=cluster.node_allocatable,
                                      allow_annotation_ignores=allow_ignores)

    result = evaluate(obj)
    if result is None:
        return Decision(True, reason="skipped")
    findings = list(result.findings)
    problems = [p.message for p in result.problems]
    old = request.get("oldObject")
    if operation == "UPDATE" and settings.get("ratchet", True) and isinstance(old, dict):
        old_result = evaluate(old)
        before = {(f.rule, f.container) for f in (old_result.findings if old_result else ())
                  if f.severity == Severity.ERROR}
        findings = [_downgrade(f, "already present before this update")
                    if f.severity == Severity.ERROR and (f.rule, f.container) in before else f
                    for f in findings]
    # A resize changes the pod's own resources, which its controller never saw: judged fully.
    resize = request.get("subResource") == "resize"
    owner = _owned_by_controller(obj) if kind == "Pod" and not resize else None
    if owner and not settings.get("validate-owned-pods", False):
        findings = [_downgrade(f, f"the pod's {owner} was judged already")
                    if f.severity == Severity.ERROR else f for f in findings]
    errors = [f for f in findings if f.severity == Severity.ERROR]
    warnings = [_warning(f) for f in findings if f.severity == Severity.WARNING]
    warnings.extend(f"oomguard: {p}"[:MAX_WARNING] for p in problems)
    audit: dict[str, str] = {}
    facts = result.facts
    if "qos" in facts:
        audit["qos"] = str(facts["qos"])
        audit["pod-memory-request"] = str(facts.get("podMemoryRequest"))
    infos = [_line(f) for f in findings if f.severity == Severity.INFO]
    if infos:
        audit["info"] = "; ".join(infos)
    decision = Decision(True, warnings=warnings, audit_annotations=audit, findings=findings,
                        judged=True, reason="warned" if warnings else "allowed")
    if errors:
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        name = meta.get("name") or meta.get("generateName") or "?"
        target = f"{kind} {namespace + '/' if namespace else ''}{name}"
        decision.allowed = False
        decision.code = 403
        decision.reason = "denied"
        decision.message = (f"oomguard denied {target}: "
                            + "; ".join(_line(f) for f in errors))
    return decision
