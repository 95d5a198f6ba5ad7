"""AdmissionReview in, AdmissionReview out: a pure function of the review and the engine.

Errors in the review itself (not JSON, wrong apiVersion, no uid, ...) raise
:class:`ReviewError` and become HTTP 400s; findings about the object become an admission
decision. The two never mix (kopf keeps them apart the same way).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from oomguard.policies.actions import AUDIT, DENY, looser
from oomguard.policies.budget import Deadline
from oomguard.policies.config import Policy
from oomguard.policies.kinds import is_kubelet_config_map, pod_template_path
from oomguard.policies.rule import Finding, Severity

API_VERSION = "admission.k8s.io/v1"
MAX_WARNING = 256  # kube-apiserver truncates longer warnings
OPERATIONS = frozenset({"CREATE", "UPDATE", "DELETE", "CONNECT"})
# A Pod created by one of these controllers was judged through its controller already.
OWNER_KINDS = frozenset({"ReplicaSet", "StatefulSet", "DaemonSet", "Job",
                         "ReplicationController"})
# The only subresource judged: an in-place resize changes a running Pod's resources.
RESIZE = "resize"
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]+")
# The audit annotations of a review. kube-apiserver files each under "<webhook name>/<key>"
# and drops one whose key is no qualified name (k8s.io/apiserver/pkg/admission/
# attributes.go, checkKeyFormat): every key here is a valid name part (at most 63
# characters of [A-Za-z0-9-_.], alphanumeric at both ends); tests check them.
AUDIT_KEYS = ("qos", "pod-memory-request", "info", "action", "would-deny", "would-warn")
# The API server cuts a ValidatingAdmissionPolicy's audit annotation at 10 KiB
# (maxAuditAnnotationValueLength, k8s.io/apiserver/pkg/admission/plugin/policy/validating/
# dispatcher.go); a webhook's are not cut, but audit backends pay for every byte: the same cap.
MAX_AUDIT_VALUE = 10 * 1024
ERROR, WARNING = Severity.ERROR, Severity.WARNING


class ReviewError(Exception):
    """The request is not an AdmissionReview we can answer (HTTP 400)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Evaluator(Protocol):
    """What the judge needs of :class:`policies.engine.Engine` (tests pass a fake)."""

    @property
    def policy(self) -> Policy: ...

    def evaluate_object(self, obj: Any, *, limit_ranges: Any = ...,
                        may_hold_oom_score_adj: bool = ...,
                        node_memory: Decimal | None = ...,
                        node_allocatable: Decimal | None = ...,
                        allow_annotation_ignores: bool = ...,
                        deadline: Deadline | None = ...) -> Any: ...


@dataclass(frozen=True)
class ClusterFacts:
    """What the cluster tells us (or the policy's fallbacks).

    ``limit_ranges`` maps a namespace to its LimitRanges (objects, or the engine's
    already-read ``ContainerDefaults``)."""

    limit_ranges: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    node_memory: Decimal | None = None
    node_allocatable: Decimal | None = None


_NO_ANNOTATIONS: Mapping[str, str] = MappingProxyType({})


class Decision(NamedTuple):
    """The answer to one review (immutable; a named tuple costs half a frozen dataclass to
    make, and one is made for every review)."""

    allowed: bool
    code: int = 200
    message: str | None = None
    warnings: Sequence[str] = ()
    audit_annotations: Mapping[str, str] = _NO_ANNOTATIONS
    findings: Sequence[Finding] = ()
    # for logs and metrics: allowed, warned, denied, skipped, exempt, error
    reason: str = "allowed"


def parse_review(data: Any) -> dict[str, Any]:
    """Validate the envelope and the request fields the judge reads; return ``request``."""
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
    kind_info = request.get("kind")
    if not isinstance(kind_info, dict) or not isinstance(kind_info.get("kind"), str):
        raise ReviewError("request.kind is missing (group, version, kind)")
    operation = request.get("operation")
    if operation not in OPERATIONS:
        raise ReviewError(f"request.operation {operation!r} is none of "
                          f"{', '.join(sorted(OPERATIONS))}")
    for key in ("namespace", "name", "subResource"):  # optional strings
        value = request.get(key)
        if value is not None and not isinstance(value, str):
            raise ReviewError(f"request.{key} must be a string")
    if operation in ("CREATE", "UPDATE") and not isinstance(request.get("object"), dict):
        raise ReviewError("request.object is missing")
    old = request.get("oldObject")
    if old is not None and not isinstance(old, dict):
        raise ReviewError("request.oldObject must be an object")
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


def warning_text(text: str) -> str:
    """One admission warning: printable (kube-apiserver drops a warning with control
    characters), at most 256 characters."""
    if not text.isprintable():  # a C loop; the regex alone costs ~100 instructions a char
        text = _UNPRINTABLE.sub(" ", text)
    return text if len(text) <= MAX_WARNING else text[:MAX_WARNING - 3] + "..."


def _owned_by_controller(obj: Mapping[str, Any]) -> str | None:
    meta = obj.get("metadata")
    owners = meta.get("ownerReferences") if isinstance(meta, dict) else None
    for owner in owners if isinstance(owners, list) else []:
        if isinstance(owner, dict) and owner.get("controller") is True and \
                owner.get("kind") in OWNER_KINDS:
            return str(owner.get("kind"))
    return None


def _downgrade(finding: Finding, why: str) -> Finding:
    return finding._replace(severity=Severity.WARNING, message=f"{finding.message} ({why})")


def request_api_version(kind_info: Mapping[str, Any]) -> str:
    """The apiVersion of a request's ``kind`` (group, version, kind)."""
    group, version = kind_info.get("group") or "", kind_info.get("version") or ""
    return f"{group}/{version}" if group else version


def is_kubelet_config(request: Mapping[str, Any]) -> bool:
    """Whether the request is for the kubelet's ConfigMap (kube-system/kubelet-config)."""
    kind_info: Mapping[str, Any] = request.get("kind") or {}
    name = request.get("name")
    if not name:  # a CREATE may name the object only in it
        meta = (request.get("object") or {}).get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
    return is_kubelet_config_map(request_api_version(kind_info), kind_info.get("kind"),
                                 request.get("namespace") or None, name)


def judges_kind(kind_info: Mapping[str, Any], policy: Policy) -> bool:
    """Whether the request's kind is one oomguard judges (built-in or mapped by policy)."""
    return pod_template_path(request_api_version(kind_info), kind_info.get("kind"),
                             policy.kinds)[0]


def is_exempt(namespace: str | None, policy: Policy, own_namespace: str | None) -> bool:
    """Whether the policy's ``exclude.namespaces`` (default kube-system) or the webhook's own
    namespace holds the object."""
    if not namespace:
        return False
    return namespace == own_namespace or \
        namespace in (policy.exclude_namespaces or ("kube-system",))


def _with_namespace(obj: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    """The object with ``metadata.namespace`` set: kube-apiserver may send a CREATE whose
    namespace is only in the URL (and in ``request.namespace``)."""
    meta = obj.get("metadata")
    if not namespace or not isinstance(meta, dict) or meta.get("namespace"):
        return obj
    return {**obj, "metadata": {**meta, "namespace": namespace}}


def judge(request: Mapping[str, Any], engine: Evaluator, cluster: ClusterFacts,
          own_namespace: str | None = None, *, may_hold_oom_score_adj: bool = True,
          deadline: Deadline | None = None, stage: str | None = None) -> Decision:
    """The admission decision for one parsed request (raises only for internal errors, and
    policies.budget.JudgeTimeout once ``deadline`` has passed).

    ``may_hold_oom_score_adj`` False (the body lacks the word: one search at C speed) spares
    the engine the walk over every node of the pod spec that looks for an oomScoreAdj key,
    which costs more than all the rules a typical review runs. ``stage`` is the enforcement
    action of the request's namespace (the path ``/validate/<action>`` its webhook entry
    calls), None for the policy's ``webhook.action`` (policies/actions.py)."""
    policy = engine.policy
    settings = policy.webhook
    operation = request.get("operation")
    kind_info: Mapping[str, Any] = request.get("kind") or {}
    kind = kind_info.get("kind")
    sub_resource = request.get("subResource") or ""
    if operation not in ("CREATE", "UPDATE"):
        return Decision(True, reason="skipped")
    pod_bearing = judges_kind(kind_info, policy)  # (first: nearly every review is one)
    kubelet_config = not pod_bearing and is_kubelet_config(request)
    if not pod_bearing and not kubelet_config:
        return Decision(True, reason="skipped")
    resize = kind == "Pod" and sub_resource == RESIZE
    if sub_resource and not resize:  # status, ephemeralcontainers, ...: not ours
        return Decision(True, reason="skipped")
    namespace = request.get("namespace")
    if not kubelet_config and is_exempt(namespace, policy, own_namespace):
        return Decision(True, reason="exempt")
    allow_ignores = bool(settings.get("allow-annotation-ignores", True))
    limit_ranges = cluster.limit_ranges.get(namespace or "", ())

    def evaluate(target: dict[str, Any]) -> Any:
        return engine.evaluate_object(_with_namespace(target, namespace),
                                      limit_ranges=limit_ranges,
                                      may_hold_oom_score_adj=may_hold_oom_score_adj,
                                      node_memory=cluster.node_memory,
                                      node_allocatable=cluster.node_allocatable,
                                      allow_annotation_ignores=allow_ignores,
                                      deadline=deadline)

    obj: dict[str, Any] = request["object"]
    result = evaluate(obj)
    if result is None:
        return Decision(True, reason="skipped")
    findings: list[Finding] = result.findings
    old = request.get("oldObject")
    if operation == "UPDATE" and settings.get("ratchet", True) and isinstance(old, dict) and \
            any(f.severity == Severity.ERROR for f in findings):
        old_result = evaluate(old)
        before = {(f.rule, f.container) for f in (old_result.findings if old_result else ())
                  if f.severity == Severity.ERROR}
        findings = [_downgrade(f, "already present before this update")
                    if f.severity == Severity.ERROR and (f.rule, f.container) in before else f
                    for f in findings]
    # A resize was never seen by the pod's controller: it is judged like any Pod.
    owner = _owned_by_controller(obj) if kind == "Pod" and not resize else None
    if owner and not settings.get("validate-owned-pods", False):
        findings = [_downgrade(f, f"its {owner} was judged already")
                    if f.severity == Severity.ERROR else f for f in findings]
    return _decision(request, findings, result, stage or str(settings.get("action", DENY)),
                     policy.action_caps)


def audit_value(text: str) -> str:
    """An audit annotation value of at most :data:`MAX_AUDIT_VALUE` bytes (UTF-8, as Go
    counts), cut at a character boundary."""
    if len(text) * 4 <= MAX_AUDIT_VALUE:
        return text
    data = text.encode()
    if len(data) <= MAX_AUDIT_VALUE:
        return text
    return data[:MAX_AUDIT_VALUE - 3].decode(errors="ignore") + "..."


def _decision(request: Mapping[str, Any], findings: list[Finding], result: Any,
              stage: str = DENY, caps: Mapping[str, str] = _NO_ANNOTATIONS) -> Decision:
    """Findings to an answer under enforcement action ``stage``, each rule at most at its
    cap (policies/actions.py): a denying error denies, a warned one is a warning "would
    deny: ...", an audited one and audited warnings only go to the audit annotations."""
    errors: list[str] = []
    warnings: list[str] = []
    infos: list[str] = []
    would_deny: list[str] = []
    would_warn: list[str] = []
    uniform = not caps  # every rule at the stage: one comparison, not one lookup a finding
    for finding in findings:  # (warning_text only when needed: this runs per finding)
        line = f"{finding.rule} {finding.name}: {finding.message}"
        severity = finding.severity
        if severity is ERROR or severity is WARNING:
            action = stage if uniform else looser(caps.get(finding.rule, DENY), stage)
            if action == AUDIT:
                (would_deny if severity is ERROR else would_warn).append(line)
                continue
            if severity is ERROR:
                if action == DENY:
                    errors.append(line)
                    continue
                would_deny.append(line)
                line = f"would deny: {line}"
            warnings.append(line if len(line) <= MAX_WARNING and line.isprintable()
                            else warning_text(line))
        else:
            infos.append(line)
    for problem in result.problems:
        if problem.rejected:  # the API server refuses the object whatever the stage: say why
            errors.append(problem.message)
        else:
            (would_warn if stage == AUDIT else warnings).append(
                warning_text(f"oomguard: {problem.message}"))
    audit: dict[str, str] = {}
    facts = result.summary()
    if "qos" in facts:
        audit["qos"] = str(facts["qos"])
    if facts.get("podMemoryRequest") is not None:
        audit["pod-memory-request"] = str(facts["podMemoryRequest"])
    if infos:
        audit["info"] = audit_value("; ".join(infos))
    if stage != DENY or caps:
        if stage != DENY:
            audit["action"] = stage
        if would_deny:  # under warn too: the audit log says what a flip to deny would do
            audit["would-deny"] = audit_value("; ".join(would_deny))
        if would_warn:
            audit["would-warn"] = audit_value("; ".join(would_warn))
    if not errors:
        reason = "would-deny" if would_deny else "warned" if warnings else "allowed"
        return Decision(True, warnings=warnings, audit_annotations=audit, findings=findings,
                        reason=reason)
    kind = (request.get("kind") or {}).get("kind")
    namespace = request.get("namespace")
    meta = request["object"].get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name = request.get("name") or meta.get("name") or meta.get("generateName") or "?"
    target = f"{kind} {namespace + '/' if namespace else ''}{name}"
    return Decision(False, 403, f"oomguard denied {target}: " + "; ".join(errors), warnings,
                    audit, findings, reason="denied")
