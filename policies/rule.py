"""The vocabulary shared by rules, the engine and both front ends.

A rule is a plain module (yamllint style) with module-level constants and a ``check()``
generator; see :class:`Rule`. ``check()`` yields :class:`Violation` objects that say
*what* is wrong and *where* (a path inside the subject); the engine stamps the rule's code,
name and configured severity and turns the path into a file position, producing a
:class:`Finding`. Rules keep no state: they are pure functions of a normalized subject.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from types import ModuleType
from typing import Any, NamedTuple, Protocol

PathPart = str | int
Path = tuple[PathPart, ...]


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2

    def __str__(self) -> str:
        return _SEVERITY_NAMES[self]  # enum's name lookup is slow, and this runs per finding

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]


_SEVERITY_NAMES = {s: s.name.lower() for s in Severity}


class Scope(str, enum.Enum):
    """What a rule looks at; the engine hands each rule the subjects of its scope."""

    WORKLOAD = "workload"  # one pod spec (a Pod or a pod template) -> PodModel
    RUN = "run"  # everything of one lint run -> RunModel (cross-object rules)
    KUBELET = "kubelet"  # effective kubelet memory settings -> policies.node model
    SYSCTL = "sysctl"  # a sysctl file -> policies.node model
    META = "meta"  # about suppressions themselves; computed by the engine


@lru_cache(maxsize=4096)  # the same few paths recur in every object
def format_path(path: Path) -> str:
    """``("spec", "containers", 0, "resources")`` -> ``spec.containers[0].resources``."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif out:
            out.append(f".{part}")
        else:
            out.append(str(part))
    return "".join(out)


# Violation, ObjectRef and Finding are named tuples: immutable like frozen dataclasses, and
# made for every finding of every review, where a frozen dataclass costs four times as much.
class Violation(NamedTuple):
    """What a rule's ``check()`` yields: a message and where it points."""

    message: str
    path: Path = ()
    container: str | None = None
    # Subjects without a document tree (flag files, sysctl files) point at lines directly.
    line: int | None = None
    column: int | None = None


class ObjectRef(NamedTuple):
    api_version: str | None
    kind: str | None
    namespace: str | None
    name: str | None

    def to_json(self) -> dict[str, Any]:
        return {"apiVersion": self.api_version, "kind": self.kind,
                "namespace": self.namespace, "name": self.name}

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind or '?'} {ns}{self.name or '?'}"


class Finding(NamedTuple):
    rule: str
    name: str
    severity: Severity
    message: str
    file: str | None
    line: int | None
    column: int | None
    object: ObjectRef | None
    container: str | None
    path: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "name": self.name, "severity": str(self.severity),
            "message": self.message, "file": self.file, "line": self.line,
            "column": self.column,
            "object": self.object.to_json() if self.object else None,
            "container": self.container, "path": self.path,
        }

    def sort_key(self) -> tuple[Any, ...]:
        return (self.file or "", self.line or 0, self.column or 0, self.rule, self.path)


@dataclass(frozen=True)
class Suppression:
    """One rule named in an ignore annotation or ``# oomguard: ignore=`` comment."""

    token: str  # as written: a code or a name
    reason: str | None
    path: Path = ()
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class RuleDoc:
    """Ruff-style documentation; ``bad`` and ``good`` are run by the contract test."""

    what: str
    why: str
    bad: str
    good: str
    # How the examples are read: a manifest, a kubelet config/flags file or a sysctl file.
    example_input: str = "manifest"
    # Policy overrides the examples need (e.g. ``{"node": {"memory": "16Gi"}}``).
    example_policy: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """Run-wide facts a rule may need besides its subject and its parameters."""

    node_memory: Decimal | None = None  # bytes (policy node.memory or the cluster's nodes)
    node_allocatable: Decimal | None = None  # bytes, the largest allocatable known


class Subject(Protocol):
    """Anything rules look at: a pod spec, an HPA of a run, a kubelet configuration, a
    sysctl file."""

    @property
    def scope(self) -> Scope: ...

    @property
    def ref(self) -> ObjectRef | None: ...

    @property
    def file(self) -> str | None: ...

    @property
    def positional(self) -> bool:
        """Whether :meth:`locate` can find positions (JSON from the webhook has none)."""

    def locate(self, path: Path) -> tuple[int, int] | None:
        """Line and column (1-based) of the deepest existing node along ``path``."""

    def suppressions(self) -> list[Suppression]: ...

    def features(self) -> frozenset[str]:
        """Which model features the subject has (rules' ``REQUIRES``; workload models only,
        the others have none)."""

    def facts_for(self, node_memory: Decimal | None) -> dict[str, Any]:
        """The facts JSON output shows, for a node of ``node_memory`` bytes if known."""


class RuleParams(Protocol):
    """A rule's typed parameters: the module's ``Params`` class, declared beside its
    ``PARAMS`` JSON Schema and built once per policy from the validated settings."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RuleParams: ...


@dataclass(frozen=True)
class NoParams:
    """The parameters of a rule that has none."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> NoParams:
        return NO_PARAMS


NO_PARAMS = NoParams()


class CheckFunction(Protocol):
    def __call__(self, subject: Any, params: Any, context: Context) -> Iterator[Violation]: ...


@dataclass(frozen=True)
class Rule:
    """A discovered rule: the module's declarations, immutable and shareable across threads.

    A rule module (``policies/rules/oomNNN_name.py``) defines ``CODE``, ``NAME``,
    ``SEVERITY``, ``SCOPE``, ``DOC`` and ``check(subject, params, context)``; optionally
    ``ENABLED`` (default True), ``PARAMS`` (JSON Schema of each parameter) with ``DEFAULTS``
    and a ``Params`` class (:class:`RuleParams`), and, for workload rules, ``REQUIRES``.
    """

    code: str
    name: str
    severity: Severity
    scope: Scope
    enabled: bool
    params_schema: Mapping[str, Any]
    defaults: Mapping[str, Any]
    doc: RuleDoc
    check: CheckFunction
    module: str
    requires: str | None = None
    params_type: type[RuleParams] = NoParams

    @classmethod
    def from_module(cls, module: ModuleType) -> Rule:
        namespace = vars(module)
        return cls(
            code=namespace["CODE"], name=namespace["NAME"],
            severity=Severity.parse(namespace["SEVERITY"]), scope=Scope(namespace["SCOPE"]),
            enabled=namespace.get("ENABLED", True),
            params_schema=dict(namespace.get("PARAMS", {})),
            defaults=dict(namespace.get("DEFAULTS", {})), doc=namespace["DOC"],
            check=namespace["check"], module=module.__name__,
            requires=namespace.get("REQUIRES"),
            params_type=namespace.get("Params", NoParams),
        )

    def params(self, values: Mapping[str, Any]) -> RuleParams:
        """The typed parameters for validated settings ``values``."""
        return self.params_type.from_mapping(values)
