"""What cross-object rules (OOM140) need from a whole lint run, kept small.

A lint run streams its documents; rather than keep every manifest, it keeps for each
workload the containers that lack an effective memory request, and every
HorizontalPodAutoscaler.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from oomguard.policies.ignores import annotation_suppressions
from oomguard.policies.positions import locate
from oomguard.policies.rule import ObjectRef, Path, Scope, Suppression
from oomguard.policies.workload.model import PodModel, get_path, object_ref

WorkloadKey = tuple[str | None, str | None, str | None]  # namespace, kind, name


@dataclass(frozen=True)
class WorkloadSummary:
    ref: ObjectRef
    file: str | None
    # (container name, is the request missing) for every resource container
    containers_without_memory_request: tuple[str, ...]
    container_names: tuple[str, ...]

    @property
    def key(self) -> WorkloadKey:
        return (self.ref.namespace, self.ref.kind, self.ref.name)


def workload_summary(model: PodModel) -> WorkloadSummary:
    containers = [c for c in model.resource_containers]
    has_pod_request = "memory" in model.pod_requests
    missing = tuple(c.name for c in containers
                    if c.memory_request is None and not has_pod_request)
    return WorkloadSummary(model.ref, model.file, missing, tuple(c.name for c in containers))


@dataclass
class MemoryMetric:
    path: Path
    container: str | None  # ContainerResource metrics name one container


@dataclass
class HpaModel:
    """A HorizontalPodAutoscaler; bound to its run when rules look at it."""

    ref: ObjectRef
    file: str | None
    root: Mapping[str, Any]
    target: tuple[str | None, str | None]  # (kind, name)
    target_path: Path
    memory_metrics: list[MemoryMetric]
    run: RunModel | None = None
    scope: Scope = Scope.RUN

    def bound(self, run: RunModel) -> HpaModel:
        return dataclasses.replace(self, run=run)

    def target_workload(self) -> WorkloadSummary | None:
        if self.run is None:
            return None
        return self.run.workloads.get((self.ref.namespace, self.target[0], self.target[1]))

    def locate(self, path: Path) -> tuple[int, int] | None:
        return locate(self.root, path)

    def suppressions(self) -> list[Suppression]:
        meta = self.root.get("metadata")
        annotations = meta.get("annotations") if isinstance(meta, dict) else None
        return annotation_suppressions(annotations) if isinstance(annotations, dict) else []

    positional = True

    def features(self) -> frozenset[str]:
        return frozenset()

    def facts_for(self, node_memory: Decimal | None) -> dict[str, Any]:
        return {}


def hpa_model(obj: Mapping[str, Any], file: str | None) -> HpaModel | None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return None
    target = spec.get("scaleTargetRef")
    if not isinstance(target, dict):
        return None
    metrics: list[MemoryMetric] = []
    listed = spec.get("metrics")
    for i, metric in enumerate(listed if isinstance(listed, list) else ()):
        if not isinstance(metric, dict):
            continue
        mtype = metric.get("type")
        key = {"Resource": "resource", "ContainerResource": "containerResource"}.get(str(mtype))
        source = metric.get(key) if key else None
        if not isinstance(source, dict) or source.get("name") != "memory":
            continue
        # autoscaling/v2: target.type Utilization; v2beta1: targetAverageUtilization
        utilization = (get_path(source, ("target", "type")) == "Utilization"
                       or source.get("targetAverageUtilization") is not None)
        if utilization:
            container = source.get("container") if key == "containerResource" else None
            metrics.append(MemoryMetric(("spec", "metrics", i),
                                        None if container is None else str(container)))
    return HpaModel(object_ref(obj), file, obj,
                    (None if target.get("kind") is None else str(target.get("kind")),
                     None if target.get("name") is None else str(target.get("name"))),
                    ("spec", "scaleTargetRef"), metrics)


@dataclass
class RunModel:
    workloads: dict[WorkloadKey, WorkloadSummary] = field(default_factory=dict)
    hpas: list[HpaModel] = field(default_factory=list)

    def add_workload(self, summary: WorkloadSummary) -> None:
        """Keep only workloads an HPA rule could fire on, so memory stays flat on big inputs."""
        if summary.containers_without_memory_request:
            self.workloads[summary.key] = summary
        else:
            self.workloads.pop(summary.key, None)

    def merge(self, other: RunModel) -> None:
        self.workloads.update(other.workloads)
        self.hpas.extend(other.hpas)
