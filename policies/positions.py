"""What a parsed document remembers of its source, without the parser: the positional
:class:`Map` and :class:`Seq` that :mod:`policies.source` builds, :func:`locate`, and the
problem and document records.

Its own module so that code reading positions (the workload model, the engine) does not load
ruamel.yaml: JSON input and the webhook never parse YAML (ruamel.yaml and its C parser cost
~13 ms of every ``oomguard diagnose`` start).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oomguard.policies.rule import Path

Position = tuple[int, int]
"""(line, column), both 1-based."""


class Map(dict[Any, Any]):
    """A mapping that knows its own position and the position of each key."""

    __slots__ = ("pos", "key_pos")

    def __init__(self) -> None:
        super().__init__()
        self.pos: Position = (0, 0)
        self.key_pos: dict[Any, Position] = {}


class Seq(list[Any]):
    """A sequence that knows its own position and the position of each item."""

    __slots__ = ("pos", "item_pos")

    def __init__(self) -> None:
        super().__init__()
        self.pos: Position = (0, 0)
        self.item_pos: list[Position] = []


@dataclass(frozen=True)
class SourceProblem:
    """A problem with the input itself (not a rule finding), with its location."""

    message: str
    line: int | None = None
    column: int | None = None
    # the API server rejects the object for it (the webhook denies, rather than warns)
    rejected: bool = False


@dataclass
class Document:
    """One YAML/JSON document of a file."""

    index: int
    data: Any
    line: int
    problems: list[SourceProblem] = field(default_factory=list)


def locate(root: Any, path: Path) -> tuple[int, int] | None:
    """Position of the deepest node along ``path`` that exists (key position for map keys)."""
    node = root
    best: tuple[int, int] | None = getattr(root, "pos", None)
    for part in path:
        if isinstance(node, Map) and isinstance(part, str) and part in node:
            best = node.key_pos.get(part, best)
            node = node[part]
        elif isinstance(node, Seq) and isinstance(part, int) and 0 <= part < len(node):
            best = node.item_pos[part] if part < len(node.item_pos) else best
            node = node[part]
        else:
            break
    if best is None or best == (0, 0):
        return None
    return best
