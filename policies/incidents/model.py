"""What a diagnosis yields: incidents, node summaries, problems; each turns into the JSON
shape ``oomguard diagnose --format json`` promises (keys and types are a contract)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

CONTAINER_LIMIT_OOM = "container-limit-oom"
POD_LIMIT_OOM = "pod-limit-oom"
NODE_ALLOCATABLE_OOM = "node-allocatable-oom"
SYSTEM_OOM = "system-oom"
NODE_OOM = "node-oom"
EVICTION = "eviction"
ADMISSION_REJECTED = "admission-rejected"
UNSCHEDULABLE = "unschedulable"
SIGKILL_NOT_OOM = "sigkill-not-oom"
TYPES = (CONTAINER_LIMIT_OOM, POD_LIMIT_OOM, NODE_ALLOCATABLE_OOM, SYSTEM_OOM, NODE_OOM,
         EVICTION, ADMISSION_REJECTED, UNSCHEDULABLE, SIGKILL_NOT_OOM)
OOM_TYPES = frozenset(TYPES[:5])

CERTAIN = "certain"   # the kernel or the kubelet said so in as many words
LIKELY = "likely"     # inferred from status and the spec, no direct record
POSSIBLE = "possible"  # the evidence fits more than one reading


class JsonItem(Protocol):
    def to_json(self) -> dict[str, Any]: ...


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class Evidence:
    source: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "text": self.text}


@dataclass(slots=True)
class ContainerFacts:
    name: str
    init: bool = False
    request: int | None = None
    limit: int | None = None
    usage: int | None = None
    sidecar: bool = False
    oom_score_adj: int | None = None
    exit_code: int | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "init": self.init, "request": self.request,
                "limit": self.limit, "usage": self.usage}


@dataclass(slots=True)
class Prevention:
    rule: str
    severity: str
    message: str
    path: str
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "message": self.message,
                "path": self.path}


@dataclass(slots=True)  # one per incident: thousands in a large cluster
class Incident:
    type: str
    namespace: str | None
    pod: str | None
    node: str | None
    time: datetime | None
    cause: str
    confidence: str = CERTAIN
    owner: tuple[str, str] | None = None       # (kind, name) of the top owner
    containers: list[ContainerFacts] = field(default_factory=list)
    count: int = 1
    evidence: list[Evidence] = field(default_factory=list)
    prevention: list[Prevention] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)  # the mechanism, for the text report
    pod_uid: str | None = None
    qos: str | None = None

    def sort_key(self) -> tuple[float, str, str]:
        stamp = self.time.timestamp() if self.time else float("-inf")
        return (-stamp, self.namespace or "", self.pod or "")

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type, "namespace": self.namespace, "pod": self.pod,
            "owner": {"kind": self.owner[0], "name": self.owner[1]} if self.owner else None,
            "node": self.node, "containers": [c.to_json() for c in self.containers],
            "time": iso(self.time), "count": self.count, "confidence": self.confidence,
            "cause": self.cause, "evidence": [e.to_json() for e in self.evidence],
            "prevention": [p.to_json() for p in self.prevention], "advice": list(self.advice),
        }


@dataclass(slots=True)
class NodeSummary:
    name: str
    capacity: int | None = None
    allocatable: int | None = None
    requested: int = 0
    limits: int = 0
    memory_pressure: bool | None = None
    incidents: int = 0
    known: bool = True  # False: named by pods, events or kernel logs, not in the input

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "capacity": self.capacity, "allocatable": self.allocatable,
                "requested": self.requested, "limits": self.limits,
                "memoryPressure": self.memory_pressure, "incidents": self.incidents}


@dataclass(frozen=True)
class Problem:
    """An error or notice about the input, located where possible."""

    source: str
    message: str
    line: int | None = None
    column: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"file": self.source, "line": self.line, "column": self.column,
                "message": self.message}

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return f"{where}: {self.message}"


@dataclass
class Diagnosis:
    incidents: list[Incident]
    nodes: list[NodeSummary]
    errors: list[Problem] = field(default_factory=list)
    notices: list[Problem] = field(default_factory=list)

    def sections(self) -> list[tuple[str, Sequence[JsonItem]]]:
        """The top-level keys of the JSON report and their items, in order."""
        return [("incidents", self.incidents), ("nodes", self.nodes), ("errors", self.errors),
                ("notices", self.notices)]

    def to_json(self) -> dict[str, Any]:
        return {key: [item.to_json() for item in items] for key, items in self.sections()}
