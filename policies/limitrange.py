"""LimitRange defaults applied to containers before any rule runs.

What the LimitRanger admission plugin does to a Pod's containers
(plugin/pkg/admission/limitranger/admission.go, defaultContainerResourceRequirements and
mergeContainerResources), after the LimitRange itself has been defaulted by
SetDefaults_LimitRangeItem (pkg/apis/core/v1/defaults.go): for type Container, a missing
``default`` comes from ``max``, a missing ``defaultRequest`` from ``default``, then ``min``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from oomguard.policies.model import QOS_RESOURCES, PodModel, Quantity, _quantity, as_mapping
from oomguard.policies.rule import Path


@dataclass(frozen=True)
class ContainerDefaults:
    """The effective container defaults of one LimitRange."""

    namespace: str | None
    name: str
    limits: Mapping[str, Quantity]
    requests: Mapping[str, Quantity]

    @property
    def label(self) -> str:
        return f"LimitRange {self.namespace or ''}/{self.name}".replace(" /", " ")


def container_defaults(obj: Mapping[str, Any]) -> ContainerDefaults | None:
    """Defaults of a LimitRange object's Container items, or None if it has none."""
    if obj.get("kind") != "LimitRange":
        return None
    meta = as_mapping(obj.get("metadata"))
    spec = obj.get("spec")
    items = spec.get("limits") if isinstance(spec, dict) else None
    if not isinstance(items, list):
        return None
    limits: dict[str, Quantity] = {}
    requests: dict[str, Quantity] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or item.get("type") != "Container":
            continue
        base: Path = ("spec", "limits", i)

        def read(key: str, item: Mapping[str, Any] = item, base: Path = base
                 ) -> dict[str, Quantity]:
            value = item.get(key)
            if not isinstance(value, dict):
                return {}
            return {str(k): _quantity(v, (*base, key, str(k))) for k, v in value.items()}

        default, default_request = read("default"), read("defaultRequest")
        for name, value in read("max").items():
            default.setdefault(name, value)
        for name, value in default.items():
            default_request.setdefault(name, value)
        for name, value in read("min").items():
            default_request.setdefault(name, value)
        for name, value in default.items():
            limits.setdefault(name, value)
        for name, value in default_request.items():
            requests.setdefault(name, value)
    if not limits and not requests:
        return None
    name = str(meta.get("name") or "?")
    namespace = None if meta.get("namespace") is None else str(meta.get("namespace"))
    return ContainerDefaults(namespace, name, limits, requests)


def applicable(defaults: Iterable[ContainerDefaults], namespace: str | None
               ) -> list[ContainerDefaults]:
    return [d for d in defaults if d.namespace == namespace]


def apply_limit_ranges(model: PodModel, defaults: Iterable[ContainerDefaults]) -> None:
    """Fill missing cpu/memory limits and requests of the model's containers."""
    for lr in applicable(defaults, model.namespace):
        for container in model.resource_containers:
            for name in QOS_RESOURCES:
                if name not in container.limits and name in lr.limits:
                    value = lr.limits[name]
                    container.limits[name] = Quantity(value.raw, value.value,
                                                      container.resources_path, lr.label)
                if name not in container.requests and name in lr.requests:
                    value = lr.requests[name]
                    container.requests[name] = Quantity(value.raw, value.value,
                                                        container.resources_path, lr.label)
            container.sync_memory()
    model.facts_cache = None
    model.qos_cache = None
    model.shares_cache = None
    model.features_cache = None
