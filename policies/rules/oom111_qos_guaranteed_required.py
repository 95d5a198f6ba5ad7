"""OOM111 qos-guaranteed-required."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from oomguard.policies.rule import Context, RuleDoc, Scope, Violation
from oomguard.policies.workload.facts import GUARANTEED
from oomguard.policies.workload.model import PodModel

CODE = "OOM111"
NAME = "qos-guaranteed-required"
SEVERITY = "error"
SCOPE = Scope.WORKLOAD
PARAMS: dict[str, Any] = {
    "priority-classes": {"type": "array", "items": {"type": "string"}},
    "namespaces": {"type": "array", "items": {"type": "string"}},
    "selector": {"type": "object", "additionalProperties": {"type": "string"}},
    "all": {"type": "boolean"},
}
DEFAULTS: dict[str, Any] = {
    "priority-classes": ["system-cluster-critical", "system-node-critical"],
    "namespaces": [],
    "selector": {},
    "all": False,
}


@dataclass(frozen=True)
class Params:
    priority_classes: frozenset[str]
    namespaces: frozenset[str]
    selector: Mapping[str, str]
    all: bool

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Params:
        return cls(priority_classes=frozenset(values.get("priority-classes") or ()),
                   namespaces=frozenset(values.get("namespaces") or ()),
                   selector=dict(values.get("selector") or {}), all=bool(values.get("all")))


DOC = RuleDoc(
    what="Requires Guaranteed QoS of pods selected as critical: by priority class (default "
         "system-cluster-critical and system-node-critical), by namespace, by pod labels "
         "(`selector`), or all pods (`all: true`, the strict profile).",
    why="Only Guaranteed pods get oom_score_adj -997 and are the last to be evicted; a "
        "critical pod that is Burstable dies before batch jobs that merely use more memory.",
    bad="""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: dns}
spec:
  template:
    spec:
      priorityClassName: system-cluster-critical
      containers:
      - name: dns
        image: coredns
        resources:
          requests: {memory: 70Mi, cpu: 100m}
          limits: {memory: 170Mi}
""",
    good="""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: dns}
spec:
  template:
    spec:
      priorityClassName: system-cluster-critical
      containers:
      - name: dns
        image: coredns
        resources:
          requests: {memory: 170Mi, cpu: 100m}
          limits: {memory: 170Mi, cpu: 100m}
""",
)


def _selected(pod: PodModel, params: Params) -> str | None:
    if params.all:
        return "every workload must be Guaranteed"
    if pod.priority_class and pod.priority_class in params.priority_classes:
        return f"priority class {pod.priority_class}"
    namespace = pod.ref.namespace
    if namespace and namespace in params.namespaces:
        return f"namespace {namespace}"
    selector = params.selector
    labels = pod.template_labels if pod.template_path is not None else pod.labels
    if selector and all(str(labels.get(k)) == v for k, v in selector.items()):
        return "labels " + ",".join(f"{k}={v}" for k, v in selector.items())
    return None


def check(pod: PodModel, params: Params, context: Context) -> Iterator[Violation]:
    reason = _selected(pod, params)
    if reason is None:
        return
    qos = pod.qos
    if qos != GUARANTEED:
        yield Violation(f"the pod is critical ({reason}) but its QoS class is {qos}: set cpu "
                        "and memory requests equal to limits on every container so it is "
                        "Guaranteed (oom_score_adj -997)", (*pod.spec_path, "containers"))
