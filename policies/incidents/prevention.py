"""The oomguard findings that would have prevented an incident: the same engine and policy
as ``oomguard lint``, run on the pod's spec (its top owner's template when that object is
known), with the node sizes of the snapshot's Nodes, and the node's kubelet findings where
its configuration is known."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from oomguard.policies.engine import Engine
from oomguard.policies.incidents import model as m
from oomguard.policies.rule import Finding, Severity

_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def _prevention(finding: Finding) -> m.Prevention:
    where = finding.path
    if finding.object is not None:
        where = f"{finding.object.kind}/{finding.object.name}: {where}" if where else \
            f"{finding.object.kind}/{finding.object.name}"
    return m.Prevention(finding.rule, str(finding.severity), finding.message, where,
                        finding.name)


class PreventionFinder:
    """Findings per (object, node sizes), each computed once."""

    def __init__(self, engine: Engine, limit_ranges: Sequence[Mapping[str, Any]] = ()) -> None:
        self.engine = engine
        self.limit_ranges = list(limit_ranges)
        self._cache: dict[tuple[int, int | None, int | None], list[m.Prevention]] = {}
        self._node_cache: dict[str, list[m.Prevention]] = {}

    def for_object(self, obj: Mapping[str, Any], capacity: int | None,
                   allocatable: int | None, *, cache: bool = True) -> list[m.Prevention]:
        """``cache``: only for objects kept alive for the whole run (the key is their id)."""
        key = (id(obj), capacity, allocatable)
        found = self._cache.get(key) if cache else None
        if found is None:
            namespace = (obj.get("metadata") or {}).get("namespace") \
                if isinstance(obj.get("metadata"), dict) else None
            ranges = [r for r in self.limit_ranges
                      if (r.get("metadata") or {}).get("namespace") == namespace]
            result = self.engine.evaluate_object(
                dict(obj), limit_ranges=ranges,
                node_memory=Decimal(capacity) if capacity else None,
                node_allocatable=Decimal(allocatable) if allocatable else None)
            findings = sorted(result.findings if result else [],
                              key=lambda f: (_RANK.get(f.severity, 3), f.rule, f.path))
            found = [_prevention(f) for f in findings]
            if cache:
                self._cache[key] = found
        return list(found)

    def for_node(self, node: str, kubelet_config: Mapping[str, Any] | None,
                 capacity: int | None) -> list[m.Prevention]:
        if kubelet_config is None:
            return []
        found = self._node_cache.get(node)
        if found is None:
            doc = dict(kubelet_config)
            doc.setdefault("kind", "KubeletConfiguration")
            doc.setdefault("apiVersion", "kubelet.config.k8s.io/v1beta1")
            result = self.engine.evaluate_object(
                doc, file=f"node {node} kubelet configuration",
                node_memory=Decimal(capacity) if capacity else None)
            found = self._node_cache[node] = [
                m.Prevention(f.rule, str(f.severity), f.message, f"node {node}: {f.path}",
                             f.name) for f in (result.findings if result else [])]
        return list(found)
