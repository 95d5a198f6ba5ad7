"""Node subjects the rules look at: kubelet settings and sysctl files."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from policies.model import locate
from policies.node.kubelet import KubeletSettings
from policies.rule import ObjectRef, Path, Scope, Suppression

_IGNORE_COMMENT = re.compile(r"^\s*#\s*oomguard:\s*ignore=([A-Za-z0-9_,-]+)\s*(.*)$")


def comment_suppressions(text: str | None, line_offset: int = 0) -> list[Suppression]:
    """``# oomguard: ignore=OOM207,OOM211 reason`` lines anywhere in a file."""
    found: list[Suppression] = []
    if not text:
        return found
    for number, line in enumerate(text.splitlines(), 1):
        match = _IGNORE_COMMENT.match(line)
        if match:
            reason = match[2].strip() or None
            for token in match[1].split(","):
                if token.strip():
                    found.append(Suppression(token.strip(), reason, (), number + line_offset,
                                             line.index("#") + 1))
    return found


@dataclass
class KubeletSubject:
    """Effective kubelet memory settings with where each field was written."""

    settings: KubeletSettings
    ref: ObjectRef | None
    file: str | None
    root: Any = None  # the KubeletConfiguration document (positional Map) if any
    root_path: Path = ()  # where that document sits inside the file's document
    flag_positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    default_position: tuple[int, int] | None = None
    line_offset: int = 0  # for a KubeletConfiguration embedded in a ConfigMap string
    extra_suppressions: list[Suppression] = field(default_factory=list)
    text: str | None = None
    scope: Scope = Scope.KUBELET

    def locate(self, path: Path) -> tuple[int, int] | None:
        if self.root is not None:
            pos = locate(self.root, path)
            if pos is not None:
                return (pos[0] + self.line_offset, pos[1])
        if path and isinstance(path[0], str) and path[0] in self.flag_positions:
            return self.flag_positions[path[0]]
        return self.default_position

    def suppressions(self) -> list[Suppression]:
        return comment_suppressions(self.text, self.line_offset) + list(self.extra_suppressions)

    def facts_for(self, node_memory: Decimal | None) -> dict[str, Any]:
        return {"kubelet": self.settings.facts(node_memory)}

    def facts(self) -> dict[str, Any]:
        return self.facts_for(None)


@dataclass(frozen=True)
class SysctlEntry:
    key: str  # normalized with dots: vm.panic_on_oom
    value: str
    line: int
    column: int


@dataclass
class SysctlSubject:
    entries: list[SysctlEntry]
    ref: ObjectRef | None
    file: str | None
    text: str | None = None
    scope: Scope = Scope.SYSCTL

    def effective(self) -> dict[str, SysctlEntry]:
        """Later lines win, as `sysctl --system` applies them in order."""
        out: dict[str, SysctlEntry] = {}
        for entry in self.entries:
            out[entry.key] = entry
        return out

    def locate(self, path: Path) -> tuple[int, int] | None:
        if path:
            entry = self.effective().get(str(path[0]))
            if entry is not None:
                return (entry.line, entry.column)
        return None

    def suppressions(self) -> list[Suppression]:
        return comment_suppressions(self.text)

    def facts(self) -> dict[str, Any]:
        return {"sysctl": {k: e.value for k, e in self.effective().items()}}
