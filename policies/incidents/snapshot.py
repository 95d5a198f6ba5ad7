"""The snapshot a diagnosis reads: what files or a live cluster hold, as plain objects.

Filled by :mod:`oomguard.linter.snapshot` (files, kubectl dumps, kernel logs, or the API).
Its iterables are read once, in this order: nodes, limit ranges, owners, events, pods; a live
snapshot's are generators that stream pages, so pods are never all in memory. Errors met while
iterating (a refused list) are appended to ``errors`` by the generators themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from oomguard.policies.incidents.kernel import KernelLog
from oomguard.policies.incidents.model import Problem

Obj = Mapping[str, Any]
Sourced = tuple[Obj, str]  # an object and where it came from ("dump.yaml", "API")


@dataclass
class Snapshot:
    nodes: Iterable[Obj] = ()
    limit_ranges: Iterable[Obj] = ()
    owners: Iterable[Obj] = ()            # ReplicaSets, Deployments, Jobs, ... when present
    events: Iterable[Sourced] = ()        # both event APIs
    pods: Iterable[Sourced] = ()
    kernel_logs: list[tuple[KernelLog, str | None]] = field(default_factory=list)  # node hint
    kubelet_configs: dict[str, Obj] = field(default_factory=dict)  # node -> KubeletConfiguration
    errors: list[Problem] = field(default_factory=list)
    notices: list[Problem] = field(default_factory=list)
    # live mode: fetch an owner (apiVersion, kind, namespace, name) or a node's kubelet
    # configuration on demand, only for the incidents found
    owner_lookup: Callable[[str, str, str, str], Obj | None] | None = None
    kubelet_config_lookup: Callable[[str], Obj | None] | None = None
    source: str = "files"
