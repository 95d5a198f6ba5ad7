"""The node subjects the rules look at: kubelet settings and sysctl files."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from oomguard.policies.node.flags import FlagOverlay
from oomguard.policies.node.kubelet import KubeletSettings
from oomguard.policies.node.sysctl import SysctlEntry, lookup
from oomguard.policies.positions import locate as locate_in
from oomguard.policies.rule import ObjectRef, Path, Scope, Suppression

Position = tuple[int, int]
_IGNORE_COMMENT = re.compile(r"^\s*[#;]\s*oomguard:\s*ignore=([A-Za-z0-9_,-]+)[ \t]*(.*)$")


def comment_suppressions(text: str | None, first_line: int = 1,
                         last_line: int | None = None,
                         shift: Callable[[Position], Position] | None = None
                         ) -> list[Suppression]:
    """``# oomguard: ignore=OOM207,kubelet-eviction-no-minimum-reclaim reason`` lines of
    ``text`` between ``first_line`` and ``last_line`` (1-based, inclusive)."""
    found: list[Suppression] = []
    if not text or "oomguard:" not in text:
        return found
    for number, line in enumerate(text.splitlines(), 1):
        if number < first_line or (last_line is not None and number > last_line):
            continue
        match = _IGNORE_COMMENT.match(line)
        if not match:
            continue
        reason = match.group(2).strip() or None
        where = (number, len(line) - len(line.lstrip()) + 1)
        if shift is not None:
            where = shift(where)
        for token in match.group(1).split(","):
            if token.strip():
                found.append(Suppression(token.strip(), reason, (), *where))
    return found


@dataclass
class KubeletSubject:
    """Effective kubelet memory settings of one input, and where each field was written.

    ``root`` is the KubeletConfiguration mapping (positional when read from YAML); fields
    set by flags are located through ``overlay``; ``shift`` maps positions of a document
    embedded in a ConfigMap string onto the file.
    """

    settings: KubeletSettings
    ref: ObjectRef | None
    file: str | None
    root: Any = None
    overlay: FlagOverlay = field(default_factory=FlagOverlay)
    default_position: Position | None = None
    shift: Callable[[Position], Position] | None = None
    suppression_list: list[Suppression] = field(default_factory=list)
    describe: str = "KubeletConfiguration"  # what the input is, for facts
    scope: Scope = Scope.KUBELET

    def locate(self, path: Path) -> Position | None:
        if path and path[0] in self.settings.from_flags:
            found = self.overlay.locate(path)
            if found is not None:
                return found
        if self.root is not None and path:
            pos = locate_in(self.root, path)
            root_pos = getattr(self.root, "pos", None)
            if pos is not None and pos != root_pos:
                return self.shift(pos) if self.shift else pos
        return self.default_position

    def suppressions(self) -> list[Suppression]:
        return list(self.suppression_list)

    positional: ClassVar[bool] = True  # positions come from the file or the flags

    def features(self) -> frozenset[str]:
        return frozenset()

    def facts_for(self, node_memory: Decimal | None) -> dict[str, Any]:
        facts = {"input": self.describe, **self.settings.facts(node_memory)}
        return {"kubelet": facts}

    def facts(self) -> dict[str, Any]:
        return self.facts_for(None)


@dataclass
class SysctlSubject:
    """The assignments of one sysctl file, in order."""

    entries: list[SysctlEntry]
    ref: ObjectRef | None
    file: str | None
    suppression_list: list[Suppression] = field(default_factory=list)
    scope: Scope = Scope.SYSCTL

    def get(self, key: str) -> SysctlEntry | None:
        return lookup(self.entries, key)

    def effective(self) -> dict[str, SysctlEntry]:
        """Explicit assignments, later lines winning (as ``sysctl --system`` applies them)."""
        out: dict[str, SysctlEntry] = {}
        for entry in self.entries:
            if not entry.exclude:
                out[entry.key] = entry
        return out

    def locate(self, path: Path) -> Position | None:
        if path:
            entry = self.get(str(path[0]))
            if entry is not None:
                return (entry.line, entry.column)
        return None

    def suppressions(self) -> list[Suppression]:
        return list(self.suppression_list)

    positional: ClassVar[bool] = True  # every entry has its line

    def features(self) -> frozenset[str]:
        return frozenset()

    def facts_for(self, node_memory: Decimal | None) -> dict[str, Any]:
        return self.facts()

    def facts(self) -> dict[str, Any]:
        return {"sysctl": {k: e.value for k, e in self.effective().items()}}
