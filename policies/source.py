"""Load YAML and JSON documents into plain dicts and lists that remember where they came from.

The parsing is ruamel.yaml's C parser (libyaml); the construction is ours: one recursive
pass that builds :class:`Map` and :class:`Seq` (dict and list subclasses) and records the
line and column of every key and item on the way. That is what lets every finding name a
line without a round-trip parse, at about the cost of ruamel's own safe loader.

Plain scalars are typed the way Kubernetes' YAML decoder (go-yaml v2, YAML 1.1) types them:
``yes``/``on`` are booleans, ``0x1F`` is an integer, everything unrecognised is a string.

A syntax error ends one document, not the file: parsing restarts at the next ``---`` line.
Duplicate keys are kept (last wins) and reported, because kubectl rejects them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode
from ruamel.yaml.resolver import BaseResolver, Tag

try:  # the C parser; ruamel.yaml.clib is a declared dependency
    from ruamel.yaml.cyaml import CParser as _Parser
except ImportError:  # pragma: no cover - pure-Python fallback keeps working, slower
    from ruamel.yaml.composer import Composer
    from ruamel.yaml.parser import Parser
    from ruamel.yaml.reader import Reader
    from ruamel.yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream, loader=self)
            Scanner.__init__(self, loader=self)
            Parser.__init__(self, loader=self)
            Composer.__init__(self, loader=self)


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


@dataclass
class Document:
    """One YAML/JSON document of a file."""

    index: int
    data: Any
    line: int
    problems: list[SourceProblem] = field(default_factory=list)


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_TAG_STR = Tag(suffix=_STR)
_TAG_MAP = Tag(suffix=_MAP)
_TAG_SEQ = Tag(suffix=_SEQ)


class _FlatResolver(BaseResolver):
    """Resolve nothing in C-land; plain scalars are typed in :func:`_plain` instead."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode:
            return _TAG_STR
        if kind is MappingNode:
            return _TAG_MAP
        return _TAG_SEQ


class _Loader(_Parser, _FlatResolver):  # type: ignore[misc,valid-type]
    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        _FlatResolver.__init__(self, loadumper=self)


# YAML 1.1 as go-yaml v2 reads it (sigs.k8s.io/yaml decodes manifests with it).
_BOOL = {
    "y": True, "Y": True, "yes": True, "Yes": True, "YES": True, "true": True, "True": True,
    "TRUE": True, "on": True, "On": True, "ON": True, "n": False, "N": False, "no": False,
    "No": False, "NO": False, "false": False, "False": False, "FALSE": False, "off": False,
    "Off": False, "OFF": False,
}
_NULL = {"", "~", "null", "Null", "NULL"}
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)\Z")
_INT_OTHER = re.compile(r"[-+]?0(?:b[01_]+|x[0-9a-fA-F_]+|[0-7_]+)\Z")
_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?\Z"
                    r"|[-+]?[0-9][0-9_]*[eE][-+][0-9]+\Z")
_SPECIAL_FLOAT = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"),
                  ".Inf": float("inf"), ".INF": float("inf"), "-.Inf": float("-inf"),
                  ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan")}
_FIRST_CHARS_OF_NON_STRINGS = frozenset("0123456789+-.~nNyYtTfFoO")


def _plain(value: str) -> Any:
    """Type a plain (unquoted, untagged) scalar."""
    if not value:
        return None
    if value[0] not in _FIRST_CHARS_OF_NON_STRINGS:
        return value
    if value in _NULL:
        return None
    flag = _BOOL.get(value)
    if flag is not None:
        return flag
    if _INT.match(value):
        return int(value.replace("_", ""))
    if _INT_OTHER.match(value):
        text = value.replace("_", "")
        sign = -1 if text[0] == "-" else 1
        text = text.lstrip("+-")
        if text[1:2] in ("b", "x"):
            return sign * int(text[2:], 2 if text[1] == "b" else 16)
        return sign * int(text, 8)
    if _FLOAT.match(value) and value not in (".", "+.", "-."):
        return float(value.replace("_", ""))
    special = _SPECIAL_FLOAT.get(value)
    if special is not None:
        return special
    return value


def _tagged(node: ScalarNode) -> Any:
    """A scalar with an explicit tag: honour the core ones, keep anything else a string."""
    tag = node.tag if isinstance(node.tag, str) else str(getattr(node.tag, "value", node.tag))
    value = node.value
    if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
               "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"):
        typed = _plain(value)
        return value if isinstance(typed, str) else typed
    return value


class _Builder:
    """Turns composed nodes into Map/Seq/scalars in one pass, noting positions."""

    def __init__(self) -> None:
        self.problems: list[SourceProblem] = []

    def build(self, node: Any) -> Any:
        if isinstance(node, ScalarNode):
            tag = node.tag
            if tag == _STR or tag is _TAG_STR:
                return node.value if node.style else _plain(node.value)
            return _tagged(node)
        mark = node.start_mark
        if isinstance(node, MappingNode):
            result = Map()
            result.pos = (mark.line + 1, mark.column + 1)
            key_pos = result.key_pos
            build = self.build
            for key_node, value_node in node.value:
                # Keys stay text: Kubernetes objects are JSON, whose keys are strings.
                key = key_node.value if isinstance(key_node, ScalarNode) else str(
                    build(key_node))
                if key == "<<" and not key_node.style:
                    self._merge(result, build(value_node))
                    continue
                kmark = key_node.start_mark
                if key in key_pos and key in result:
                    first = key_pos[key]
                    self.problems.append(SourceProblem(
                        f"duplicate key {key!r} (first at line {first[0]}); the last value is "
                        "used here, but kubectl and the API server reject the document",
                        kmark.line + 1, kmark.column + 1))
                key_pos[key] = (kmark.line + 1, kmark.column + 1)
                result[key] = build(value_node)
            return result
        seq = Seq()
        seq.pos = (mark.line + 1, mark.column + 1)
        item_pos = seq.item_pos
        for item in node.value:
            imark = item.start_mark
            item_pos.append((imark.line + 1, imark.column + 1))
            seq.append(self.build(item))
        return seq

    @staticmethod
    def _merge(target: Map, source: Any) -> None:
        """YAML merge keys (``<<: *base``): keys already present win."""
        sources = source if isinstance(source, list) else [source]
        for src in sources:
            if isinstance(src, Map):
                for key, value in src.items():
                    if key not in target:
                        target[key] = value
                        target.key_pos[key] = src.key_pos.get(key, src.pos)


_DOC_START = re.compile(r"^---(?:[ \t].*)?$", re.MULTILINE)


def _problem_from(exc: YAMLError, line_offset: int) -> SourceProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if isinstance(exc, MarkedYAMLError):
        text = "; ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
    else:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = f"YAML syntax error: {text}"
    if mark is None:
        return SourceProblem(text, None, None)
    return SourceProblem(text, mark.line + 1 + line_offset, mark.column + 1)


def _shift(data: Any, offset: int) -> None:
    """Move every recorded line down by ``offset`` (documents parsed from a later start)."""
    if isinstance(data, Map):
        data.pos = (data.pos[0] + offset, data.pos[1])
        data.key_pos = {k: (p[0] + offset, p[1]) for k, p in data.key_pos.items()}
        for value in data.values():
            _shift(value, offset)
    elif isinstance(data, Seq):
        data.pos = (data.pos[0] + offset, data.pos[1])
        data.item_pos = [(p[0] + offset, p[1]) for p in data.item_pos]
        for value in data:
            _shift(value, offset)


def iter_documents(text: str) -> Iterator[Document]:
    """Yield every document of a YAML (or JSON) stream, one at a time.

    A document that fails to parse is yielded with ``data`` None and a problem saying where;
    parsing resumes at the next ``---`` line after the error.
    """
    index = 0
    line_offset = 0
    remaining = text
    while True:
        loader = _Loader(remaining)
        try:
            while loader.check_node():
                node = loader.get_node()
                builder = _Builder()
                data = builder.build(node) if node is not None else None
                if line_offset:
                    _shift(data, line_offset)
                    problems = [SourceProblem(p.message, (p.line or 0) + line_offset, p.column)
                                for p in builder.problems]
                else:
                    problems = builder.problems
                start = node.start_mark.line + 1 + line_offset if node is not None else 0
                # (a node of None is an empty document: "---" with nothing after it)
                yield Document(index, data, start, problems)
                index += 1
            return
        except YAMLError as exc:
            problem = _problem_from(exc, line_offset)
            yield Document(index, None, problem.line or 0, [problem])
            index += 1
            error_line = (problem.line or 1) - line_offset  # 1-based, within `remaining`
            resume = _next_document_start(remaining, error_line)
            if resume is None:
                return
            skipped_lines = remaining.count("\n", 0, resume)
            line_offset += skipped_lines
            remaining = remaining[resume:]
        finally:
            dispose = getattr(loader, "dispose", None)
            if dispose is not None:
                dispose()


def _next_document_start(text: str, after_line: int) -> int | None:
    """Offset of the first ``---`` line strictly after 1-based line ``after_line``."""
    offset = 0
    for _ in range(after_line):
        nl = text.find("\n", offset)
        if nl < 0:
            return None
        offset = nl + 1
    match = _DOC_START.search(text, offset)
    return match.start() if match else None
