"""The vocabulary shared by rules, the engine and both front ends.

A rule is a plain module (yamllint style) with module-level constants and a ``check()``
generator; see :class:`RuleModule`. ``check()`` yields :class:`Violation` objects that say
*what* is wrong and *where* (a path inside the subject); the engine stamps the rule's code,
name and configured severity and turns the path into a file position, producing a
:class:`Finding`. Rules keep no state: they are pure functions of a normalized subject.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
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

    node_memory: Any = None  # Decimal bytes or None (policy node.memory / real nodes)
    node_allocatable: Any = None  # Decimal bytes or None (largest allocatable known)


class Subject(Protocol):
    """Anything rules look at: a pod spec, a kubelet configuration, a sysctl file."""

    @property
    def scope(self) -> Scope: ...

    @property
    def ref(self) -> ObjectRef | None: ...

    @property
    def file(self) -> str | None: ...

    def locate(self, path: Path) -> tuple[int, int] | None:
        """Line and column (1-based) of the deepest existing node along ``path``."""

    def suppressions(self) -> list[Suppression]: ...

    def facts(self) -> dict[str, Any]: ...


class CheckFunction(Protocol):
    def __call__(self, subject: Any, params: Mapping[str, Any],
                 context: Context) -> Iterator[Violation]: ...


class RuleModule(Protocol):
    """What a module under ``policies/rules/`` must define to be discovered as a rule."""

    CODE: str
    NAME: str
    SEVERITY: str  # "error" | "warning" | "info"
    SCOPE: Scope
    ENABLED: bool
    PARAMS: Mapping[str, Any]  # JSON Schema of each parameter, keyed by parameter name
    DEFAULTS: Mapping[str, Any]
    DOC: RuleDoc
    # Optional, workload rules only: a feature of policies.workload.model.FEATURES that every
    # violation of the rule implies; the engine skips the rule on models without it.
    REQUIRES: str | None

    def check(self, subject: Any, params: Mapping[str, Any],
              context: Context) -> Iterator[Violation]: ...


@dataclass(frozen=True)
class Rule:
    """A discovered rule: the module's declarations, immutable and shareable across threads."""

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

    @classmethod
    def from_module(cls, module: Any) -> Rule:
        return cls(
            code=module.CODE, name=module.NAME, severity=Severity.parse(module.SEVERITY),
            scope=Scope(module.SCOPE), enabled=getattr(module, "ENABLED", True),
            params_schema=dict(getattr(module, "PARAMS", {})),
            defaults=dict(getattr(module, "DEFAULTS", {})), doc=module.DOC,
            check=module.check, module=module.__name__,
            requires=getattr(module, "REQUIRES", None),
        )
