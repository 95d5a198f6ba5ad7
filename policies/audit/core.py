"""The audit of a live cluster as a pure accumulator: objects in, findings out.

Objects arrive as the API lists them (one page at a time) in the order the rules need:
Nodes first (sizes), then LimitRanges (defaults for templates), then everything else. Only
findings, one small entry per judged object, the per-node memory sums and what the HPA rule
needs are kept, so memory grows with the findings, not with the cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from oomguard.policies.audit.nodes import (
    NodeMemory,
    PodOnNode,
    apply_kubelet,
    configz_subject,
    node_memory,
    pod_on_node,
    running_on,
)
from oomguard.policies.audit.owners import OwnerRef, judged_through_owner
from oomguard.policies.config import Policy
from oomguard.policies.engine import Engine, ObjectResult, excluded_namespace
from oomguard.policies.rule import Finding, ObjectRef
from oomguard.policies.workload.limitrange import ContainerDefaults, container_defaults
from oomguard.policies.workload.model import PodModel, object_ref
from oomguard.policies.workload.runmodel import RunModel, hpa_model


@dataclass(frozen=True)
class Problem:
    """An error or notice of the audit: what it is about (an API path or an object) and
    what happened."""

    source: str
    message: str


@dataclass(frozen=True)
class Judged:
    """One object the rules looked at (the pass results of a PolicyReport need them)."""

    ref: ObjectRef
    uid: str | None
    findings: int
    problems: int = 0  # could not be judged (fully): an error result, not a pass


@dataclass
class AuditResult:
    findings: list[Finding]
    judged: list[Judged]
    nodes: list[NodeMemory]
    errors: list[Problem]
    notices: list[Problem]
    facts: list[dict[str, Any]]
    skipped_owned: int  # objects judged through their controller

    @property
    def object_count(self) -> int:
        return len(self.judged)


def _uid(obj: Mapping[str, Any]) -> str | None:
    meta = obj.get("metadata")
    uid = meta.get("uid") if isinstance(meta, dict) else None
    return None if uid is None else str(uid)


def _label(kind: str | None, namespace: Any, name: Any) -> str:
    return f"{kind} {namespace or ''}/{name}".replace(" /", " ")


@dataclass
class Audit:
    """One audit run. Call the ``add_*`` methods in list order, then :meth:`finish`."""

    policy: Policy
    keep_facts: bool = False
    engine: Engine = field(init=False)
    nodes: dict[str, NodeMemory] = field(default_factory=dict)
    limit_ranges: list[ContainerDefaults] = field(default_factory=list)
    run: RunModel = field(default_factory=RunModel)
    findings: list[Finding] = field(default_factory=list)
    judged: list[Judged] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    notices: list[Problem] = field(default_factory=list)
    facts: list[dict[str, Any]] = field(default_factory=list)
    skipped_owned: int = 0
    # uid of an object judged through its controller -> "Deployment shop/web", its top one
    top_owners: dict[str, str] = field(default_factory=dict)
    _largest: tuple[Decimal | None, Decimal | None] = (None, None)
    _shapes: dict[tuple[str, int | None], PodOnNode] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.engine = Engine(self.policy)

    # -- cluster shape ----------------------------------------------------------------------
    def add_node(self, obj: Mapping[str, Any]) -> None:
        memory = node_memory(obj)
        self.nodes[memory.name] = memory
        capacity, allocatable = self._largest
        if memory.capacity is not None and (capacity is None or memory.capacity > capacity):
            capacity = Decimal(memory.capacity)
        if memory.allocatable is not None and (allocatable is None
                                               or memory.allocatable > allocatable):
            allocatable = Decimal(memory.allocatable)
        self._largest = (capacity, allocatable)

    def add_limit_range(self, obj: Mapping[str, Any]) -> None:
        if excluded_namespace(obj, self.policy):
            return
        try:
            defaults = container_defaults(obj)
        except Exception as exc:  # noqa: BLE001 - a bad LimitRange must not stop the audit
            self.errors.append(Problem(str(object_ref(obj)), f"cannot read: {exc}"))
            return
        if defaults is not None:
            self.limit_ranges.append(defaults)

    def context_sizes(self) -> tuple[Decimal | None, Decimal | None]:
        """Node memory and allocatable the workload rules judge against: the largest node
        (OOM108: a pod that fits no node), else the policy's ``node:`` sizes."""
        capacity, allocatable = self._largest
        return (capacity or self.policy.node_memory,
                allocatable or self.policy.node_allocatable)

    # -- workloads ---------------------------------------------------------------------------
    def add_object(self, obj: Mapping[str, Any]) -> None:
        """A listed object of any kind; it needs ``kind`` and ``apiVersion`` set (the API
        server leaves them out of list items; the lister puts them back)."""
        if not isinstance(obj, dict):
            return
        kind = obj.get("kind")
        if kind == "Node":
            self.add_node(obj)
            return
        if kind == "LimitRange":
            self.add_limit_range(obj)
            return
        if excluded_namespace(obj, self.policy):
            return
        try:
            self._add(obj, str(kind))
        except Exception as exc:  # noqa: BLE001 - one bad object must not stop the audit
            self.errors.append(Problem(str(object_ref(obj)),
                                       f"internal error: {type(exc).__name__}: {exc}"))

    def _add(self, obj: dict[str, Any], kind: str) -> None:
        if kind == "HorizontalPodAutoscaler":
            hpa = hpa_model(obj, None)
            if hpa is not None:
                self.run.hpas.append(hpa)
            return
        engine = self.engine
        node_memory, node_allocatable = self.context_sizes()
        if kind == "ConfigMap":
            result = engine.evaluate_object(obj, node_memory=node_memory,
                                            node_allocatable=node_allocatable)
            if result is not None:
                self._record(result, _uid(obj))
            return
        if not engine.judges(obj):
            return
        node = running_on(obj) if kind == "Pod" else None
        owner = judged_through_owner(obj, self.policy.kinds)
        top = None if owner is None else self._top_owner(obj, owner)
        if top is not None:
            self.skipped_owned += 1
            if node is not None:
                self._place_owned(obj, node, top)
            return
        # a template's pods get the LimitRange defaults at admission; a live Pod has them
        # already (and a LimitRange made after it never applied to it)
        defaults = self.limit_ranges if kind != "Pod" else ()
        result = engine.evaluate_object(obj, limit_ranges=defaults, node_memory=node_memory,
                                        node_allocatable=node_allocatable, run=self.run)
        if result is None:
            return
        if node is not None and result.model is not None:
            self._place(result.model, node, None)
        self._record(result, _uid(obj))

    def _top_owner(self, obj: Mapping[str, Any], owner: OwnerRef) -> str:
        """The label of the controller that answers for ``obj`` (its owner's owner when the
        owner was itself judged through one: Pod -> ReplicaSet -> Deployment)."""
        meta = obj.get("metadata")
        namespace = meta.get("namespace") if isinstance(meta, dict) else None
        top = self.top_owners.get(owner.uid or "") or _label(owner.kind, namespace, owner.name)
        uid = _uid(obj)
        if uid is not None and obj.get("kind") != "Pod":  # pods own nothing
            self.top_owners[uid] = top
        return top

    def _node(self, name: str) -> NodeMemory:
        memory = self.nodes.get(name)
        if memory is None:
            memory = self.nodes[name] = NodeMemory(name)
        return memory

    def _place(self, model: PodModel, node: str, owner: str | None) -> None:
        memory = self._node(node)
        memory.add_pod(pod_on_node(model, memory.capacity, owner))

    def _place_owned(self, obj: dict[str, Any], node: str, owner: str) -> None:
        """A controller's pod on its node. Its siblings mostly share its resources (a
        vertical autoscaler may have changed some), so the numbers are computed once per
        resource shape and node size: 150,000 pods are a few thousand shapes."""
        memory = self._node(node)
        spec = obj.get("spec")
        key = (_resource_shape(spec), memory.capacity)
        found = self._shapes.get(key)
        if found is None:
            model = self.engine.pod_model(obj, None, (), False)
            if not isinstance(model, PodModel):
                return  # not modelled: its controller's template reports why
            found = pod_on_node(model, memory.capacity, None)
            if len(self._shapes) > 50_000:
                self._shapes.clear()
            self._shapes[key] = found
        meta = obj.get("metadata") or {}
        memory.add_pod(found._replace(namespace=meta.get("namespace"), name=meta.get("name"),
                                      owner=owner))

    def _record(self, result: ObjectResult, uid: str | None) -> None:
        ref = result.ref or ObjectRef(None, None, None, None)
        for problem in result.problems:
            self.errors.append(Problem(str(ref), problem.message))
        self.findings.extend(result.findings)
        self.judged.append(Judged(ref, uid, len(result.findings), len(result.problems)))
        if self.keep_facts and result.has_facts:
            self.facts.append(result.facts_json(True))

    # -- nodes' kubelets ---------------------------------------------------------------------
    def add_configz(self, node: str, payload: Any) -> None:
        """A node's ``/configz`` answer, judged by the node rules with its capacity."""
        memory = self.nodes.get(node)
        if memory is None:
            memory = self.nodes[node] = NodeMemory(node)
        subject = configz_subject(node, payload)
        if subject is None:
            self.kubelet_notice(node, "the kubelet's /configz answer holds no kubeletconfig")
            return
        apply_kubelet(memory, subject)
        capacity = None if memory.capacity is None else Decimal(memory.capacity)
        allocatable = None if memory.allocatable is None else Decimal(memory.allocatable)
        result = self.engine.evaluate_node_subjects([subject], self.engine.context(
            capacity, allocatable), None, subject.ref)
        memory.findings += len(result.findings)
        self._record(result, memory.uid)

    def kubelet_notice(self, node: str, reason: str) -> None:
        memory = self.nodes.get(node)
        if memory is not None:
            memory.kubelet_notice = reason
        self.notices.append(Problem(f"Node {node}", f"kubelet configuration not read: {reason}"))

    # -- the end -----------------------------------------------------------------------------
    def finish(self) -> AuditResult:
        context = self.engine.context(*self.context_sizes())
        run_findings = self.engine.evaluate_run(self.run, context)
        self.findings.extend(run_findings)
        counts: dict[ObjectRef, int] = {}
        for finding in run_findings:
            if finding.object is not None:
                counts[finding.object] = counts.get(finding.object, 0) + 1
        judged = self.judged
        if counts:  # HPAs with findings are judged objects too
            known = {j.ref for j in judged}
            judged = [Judged(j.ref, j.uid, j.findings + counts.get(j.ref, 0), j.problems)
                      for j in judged]
            uids = {h.ref: _uid(h.root) for h in self.run.hpas}
            judged += [Judged(ref, uids.get(ref), n) for ref, n in counts.items()
                       if ref not in known]
        for memory in self.nodes.values():
            memory.finish()
        findings = sorted(self.findings, key=_finding_order)
        return AuditResult(findings, judged, list(self.nodes.values()), self.errors,
                           self.notices, self.facts, self.skipped_owned)


def _resource_shape(spec: Any) -> str:
    """What a pod's QoS class, memory request, limit and oom_score_adj depend on, as text."""
    if not isinstance(spec, dict):
        return ""
    init = spec.get("initContainers")
    regular = spec.get("containers")
    return repr((spec.get("priorityClassName"), spec.get("resources"), spec.get("overhead"),
                 [(c.get("resources"), c.get("restartPolicy")) for c in init
                  if isinstance(c, dict)] if isinstance(init, list) else init,
                 [c.get("resources") for c in regular if isinstance(c, dict)]
                 if isinstance(regular, list) else regular))


def _finding_order(f: Finding) -> tuple[Any, ...]:
    ref = f.object
    return ((ref.namespace or "", ref.kind or "", ref.name or "") if ref else ("", "", ""),
            f.rule, f.path)


def audit_objects(policy: Policy, objects: Iterable[Mapping[str, Any]],
                  configz: Mapping[str, Any] | None = None) -> AuditResult:
    """Audit objects already in memory (tests, dumps): Nodes and LimitRanges first."""
    items = list(objects)
    audit = Audit(policy)
    for kind_first in ("Node", "LimitRange"):
        for obj in items:
            if obj.get("kind") == kind_first:
                audit.add_object(obj)
    for obj in items:
        if obj.get("kind") not in ("Node", "LimitRange"):
            audit.add_object(obj)
    for node, payload in (configz or {}).items():
        audit.add_configz(node, payload)
    return audit.finish()
