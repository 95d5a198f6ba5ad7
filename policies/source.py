"""Load YAML and JSON documents into plain dicts and lists that remember where they came from.

The parsing is ruamel.yaml's C parser (libyaml), read as a stream of events; the
construction is ours: one loop (no recursion, so no depth reaches Python's stack or libyaml's
C composer, which crashes past ~100,000 levels) that builds :class:`Map` and :class:`Seq`
(dict and list subclasses) and records the line and column of every key and item on the way.
That is what lets every finding name a line without a round-trip parse, at less than the
cost of ruamel's own safe loader.

Plain scalars are typed the way Kubernetes' YAML decoder (go-yaml v2, YAML 1.1) types them:
``yes``/``on`` are booleans, ``0x1F`` is an integer, everything unrecognised is a string.

Hostile input is bounded, each limit reported as a problem located where it was hit:
aliases may not expand a document more than go-yaml allows (see :func:`_allowed_alias_ratio`),
an anchor may not contain an alias to itself, and collections nest at most
:data:`MAX_DEPTH` levels.

A problem ends one document, not the file: parsing restarts at the next ``---`` line.
Duplicate keys are kept (last wins) and reported, because kubectl rejects them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from ruamel.yaml.reader import ReaderError

from oomguard.policies.positions import (  # re-exported: the public names of this module
    Document,
    Map,
    Position,
    Seq,
    SourceProblem,
    locate,
)

__all__ = ["DOCUMENT_START", "MAX_DEPTH", "Document", "Map", "Position", "Seq", "SourceProblem",
           "iter_documents", "locate"]

try:  # the C parser; ruamel.yaml.clib is a declared dependency
    # (ruamel.yaml.cyaml imports CParser from the C extension without re-exporting it)
    from ruamel.yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - pure-Python fallback keeps working, slower
    from ruamel.yaml.parser import Parser
    from ruamel.yaml.reader import Reader
    from ruamel.yaml.resolver import BaseResolver
    from ruamel.yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, BaseResolver):  # type: ignore[no-redef]
        processing_version = (1, 1)  # what the pure-Python scanner and parser ask for

        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream, loader=self)
            Scanner.__init__(self, loader=self)
            Parser.__init__(self, loader=self)
            BaseResolver.__init__(self, loadumper=self)


# Collections nest at most this deep. Kubernetes objects nest under 30 levels (the deepest
# document of the benchmark corpus, a CRD schema, has 27). go-yaml v3 stops at 10,000
# (scannerc.go, max_flow_level and max_indents); ours is lower because the code that reads a
# document (ours and jsonschema) recurses once or twice per level within Python's 1,000.
MAX_DEPTH = 256


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
_CORE_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                        "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"})


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
        try:
            return int(value.replace("_", ""))
        except ValueError:  # over Python's 4,300-digit limit: go-yaml keeps it a string too
            return value
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


def _tagged(tag: str, value: str) -> Any:
    """A scalar with an explicit tag: honour the core ones, keep anything else a string."""
    if tag in _CORE_TAGS:
        typed = _plain(value)
        return value if isinstance(typed, str) else typed
    return value


# How much of a document aliases may make, as go-yaml decides it ("document contains
# excessive aliasing"): gopkg.in/yaml.v2 decode.go (v2.2.8+, what sigs.k8s.io/yaml and so
# kubectl and the API server decode with) and gopkg.in/yaml.v3 decode.go, allowedAliasRatio.
# Both count every node decoded, and those decoded again through an alias; up to 400,000
# nodes 99% may come from aliases, from 4,000,000 on 10%, linearly in between.
_ALIAS_RATIO_RANGE_LOW = 400_000
_ALIAS_RATIO_RANGE_HIGH = 4_000_000


def _allowed_alias_ratio(decoded: int) -> float:
    if decoded <= _ALIAS_RATIO_RANGE_LOW:
        return 0.99
    if decoded >= _ALIAS_RATIO_RANGE_HIGH:
        return 0.10
    return 0.99 - 0.89 * ((decoded - _ALIAS_RATIO_RANGE_LOW)
                          / (_ALIAS_RATIO_RANGE_HIGH - _ALIAS_RATIO_RANGE_LOW))


class _LimitError(Exception):
    """A document over one of the limits above, or an alias that cannot be resolved."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


_NO_KEY = object()  # a mapping waiting for its next key
_MERGE = object()  # the key ``<<`` (plain): the value is merged, not stored


class _Builder:
    """Turns one document's events into Map/Seq/scalars, noting positions and problems.

    An alias yields the very object its anchor built (no copy: a billion-laughs document
    costs nothing until the count says no), so nothing may change a built document.
    """

    def __init__(self, line_base: int) -> None:
        self.problems: list[SourceProblem] = []
        self.line_base = line_base  # added to libyaml's 0-based line

    def build(self, get_event: Callable[[], Any]) -> tuple[Any, int]:
        """Consume the events of one document's content; return it and its first line."""
        base = self.line_base
        # name -> (value, nodes it stands for, its text when a scalar): what an alias gives
        anchors: dict[str, tuple[Any, int, str | None]] = {}
        open_anchors: dict[str, int] = {}  # anchored collections being built -> first node
        decoded = aliased = 0  # go-yaml's counts (see _allowed_alias_ratio)
        stack: list[tuple[Any, Any, Any, Any, Any]] = []
        push = stack.append
        pop = stack.pop
        # the collection being filled, its pending key and that key's position, its anchor,
        # and the keys a merge brought into it (None until one does)
        cur: Any = None
        key: Any = _NO_KEY
        key_at: Position = (0, 0)
        cur_anchor: str | None = None
        merged: set[str] | None = None
        first_line = 0
        while True:
            event = get_event()
            cls = event.__class__
            text: str | None = None
            if cls is ScalarEvent:
                decoded += 1
                text = event.value
                tag = event.tag
                if tag is None or tag == "!":
                    value = text if event.style else _plain(text)
                else:
                    value = _tagged(tag, text)
                mark = event.start_mark
                at = (mark.line + base, mark.column + 1)
                if event.anchor is not None:
                    anchors[event.anchor] = (value, 1, text)
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                decoded += 1
                mark = event.start_mark
                if len(stack) >= MAX_DEPTH:
                    raise _LimitError(f"collections nest deeper than {MAX_DEPTH} levels", mark)
                collection = Map() if cls is MappingStartEvent else Seq()
                collection.pos = (mark.line + base, mark.column + 1)
                if cur is None:
                    first_line = collection.pos[0]
                push((cur, key, key_at, cur_anchor, merged))
                cur, key, cur_anchor, merged = collection, _NO_KEY, event.anchor, None
                if cur_anchor is not None:
                    open_anchors[cur_anchor] = decoded - 1
                continue
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                value = cur
                at = cur.pos
                if cur_anchor is not None:
                    anchors[cur_anchor] = (value, decoded - open_anchors.pop(cur_anchor), None)
                cur, key, key_at, cur_anchor, merged = pop()
            elif cls is AliasEvent:
                mark = event.start_mark
                name = event.anchor
                target = anchors.get(name)
                if target is None:
                    if name in open_anchors:
                        raise _LimitError(f"the value of anchor {name!r} contains an alias to "
                                          "itself", mark)
                    raise _LimitError(f"found undefined alias {name!r}", mark)
                value, nodes, text = target
                decoded += 1 + nodes
                aliased += nodes
                if aliased > 100 and decoded > 1000 and \
                        aliased / decoded > _allowed_alias_ratio(decoded):
                    raise _LimitError(
                        f"document contains excessive aliasing: alias {name!r} brings the "
                        f"document to {decoded:,} nodes, {aliased:,} of them through aliases "
                        "(go-yaml, and so kubectl, refuses it)", mark)
                at = (mark.line + base, mark.column + 1)
            else:  # pragma: no cover - libyaml emits only the events above inside a document
                raise _LimitError(f"unexpected {cls.__name__}", event.start_mark)
            if cur is None:
                return value, first_line or at[0]
            if cur.__class__ is Seq:
                cur.append(value)
                cur.item_pos.append(at)
            elif key is _NO_KEY:
                # Keys stay text: Kubernetes objects are JSON, whose keys are strings.
                if text is None:
                    key = str(value)
                elif text == "<<" and cls is ScalarEvent and not event.style:
                    key = _MERGE
                else:
                    key = text
                key_at = at
            else:
                if key is _MERGE:
                    merged = self._merge(cur, value, merged)
                else:
                    if key in cur:
                        if merged is not None and key in merged:
                            merged.discard(key)  # a merged key overridden: legal YAML
                        else:
                            self.problems.append(SourceProblem(
                                f"duplicate key {key!r} (first at line {cur.key_pos[key][0]}); "
                                "the last value is used here, but kubectl and the API server "
                                "reject the document", *key_at))
                    cur.key_pos[key] = key_at
                    cur[key] = value
                key = _NO_KEY

    @staticmethod
    def _merge(target: Map, source: Any, merged: set[str] | None) -> set[str] | None:
        """YAML merge keys (``<<: *base``): keys already present win; returns the keys the
        merge added, which a later explicit key may override without being a duplicate."""
        for src in source if isinstance(source, list) else [source]:
            if isinstance(src, Map):
                for key, value in src.items():
                    if key not in target:
                        target[key] = value
                        target.key_pos[key] = src.key_pos.get(key, src.pos)
                        merged = merged if merged is not None else set()
                        merged.add(key)
        return merged


# A line that starts a document: ``---`` at column 0, then a blank or the line's end (what
# libyaml's scanner takes for a document start indicator, line breaks other than LF and
# CRLF aside). Written as "--- not preceded by a character other than a newline" rather than
# with ^ and re.MULTILINE: that lets the regex engine look for the literal, 5x faster.
DOCUMENT_START = re.compile(r"---(?<![^\n]---)(?=[ \t\r\n]|\Z)")
# Characters YAML does not allow in a stream (libyaml reader.c; YAML 1.1 c-printable).
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # each counts one line, as in libyaml


def _problem_from(exc: YAMLError, line_base: int) -> tuple[SourceProblem, int | None]:
    """The located problem of a libyaml error, and the index where it was found."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if isinstance(exc, MarkedYAMLError):
        text = "; ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
    else:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = f"YAML syntax error: {text}"
    if mark is None:
        return SourceProblem(text, None, None), None
    return SourceProblem(text, mark.line + line_base, mark.column + 1), mark.index


def _resume_at(text: str, error_index: int, document_start: int) -> int | None:
    """Where to parse again after a document failed: the first ``---`` line at or after the
    line of the error, after the failed document's own start and after offset 0, so that
    every restart moves forward. (An unclosed quote or ``{`` is reported on the next
    ``---`` line: that line starts the next document and is kept.)"""
    line_start = text.rfind("\n", 0, error_index) + 1
    match = DOCUMENT_START.search(text, max(line_start, document_start + 1, 1))
    return match.start() if match else None


class _Emitter:
    """Numbers documents in order; problems found ahead (a bad character) wait for their
    turn, so documents come out in the order of their lines."""

    def __init__(self) -> None:
        self.index = 0
        self.pending: list[SourceProblem] = []

    def emit(self, data: Any, line: int, problems: list[SourceProblem]) -> Iterator[Document]:
        while self.pending and (self.pending[0].line or 0) <= line:
            yield from self._one(None, self.pending[0].line or 0, [self.pending.pop(0)])
        yield from self._one(data, line, problems)

    def flush(self) -> Iterator[Document]:
        while self.pending:
            problem = self.pending.pop(0)
            yield from self._one(None, problem.line or 0, [problem])

    def _one(self, data: Any, line: int, problems: list[SourceProblem]) -> Iterator[Document]:
        yield Document(self.index, data, line, problems)
        self.index += 1


def _blank_bad_document(text: str, line_base: int) -> tuple[str, SourceProblem] | None:
    """``text`` with the document around its first character YAML forbids replaced by as
    many empty lines, and the problem located at that character; None if there is none."""
    bad = _NOT_PRINTABLE.search(text)
    if bad is None:
        return None
    index = bad.start()
    line_start = text.rfind("\n", 0, index) + 1
    begin, end = 0, len(text)
    for match in DOCUMENT_START.finditer(text):
        if match.start() > line_start:
            end = match.start()
            break
        begin = match.start()
    region = text[begin:end]
    line = line_base + len(_LINE_BREAK.findall(text, 0, index))
    problem = SourceProblem(
        f"YAML syntax error: control character U+{ord(bad.group()):04X} is not allowed in "
        "YAML; the document holding it is not read", line, index - line_start + 1)
    return text[:begin] + "\n" * len(_LINE_BREAK.findall(region)) + text[end:], problem


def iter_documents(text: str) -> Iterator[Document]:
    """Yield every document of a YAML (or JSON) stream, one at a time.

    A document that cannot be read (a syntax error, a character YAML forbids, a limit) is
    yielded with ``data`` None and a problem saying where; parsing resumes at the next
    ``---`` line after it. Every call terminates: each restart starts further on.
    """
    emitter = _Emitter()
    line_base = 1  # the 1-based line of `text`'s first line
    while True:
        parser = None
        document_start = done_upto = 0  # indices into `text`
        done_line = 0  # libyaml's line of `done_upto`
        try:
            parser = _Parser(text)
            get_event = parser.get_event
            get_event()  # StreamStartEvent
            while True:
                event = get_event()
                if event.__class__ is StreamEndEvent:
                    yield from emitter.flush()
                    return
                assert event.__class__ is DocumentStartEvent
                document_start = event.start_mark.index
                builder = _Builder(line_base)
                data, line = builder.build(get_event)
                end = get_event().end_mark  # DocumentEndEvent
                yield from emitter.emit(data, line, builder.problems)
                document_start = done_upto = end.index
                done_line = end.line
        except (ReaderError, UnicodeEncodeError):
            # libyaml reads ahead: the character may lie documents after the one being
            # parsed. Parse again from the last document read, without the bad one. (A lone
            # surrogate, which only a JSON escape can make, cannot even be handed to libyaml.)
            rest = text[done_upto:]
            blanked = _blank_bad_document(rest, line_base + done_line)
            if blanked is None:  # pragma: no cover - a reader error is a bad character
                raise
            text, problem = blanked
            line_base += done_line
            emitter.pending.append(problem)
            emitter.pending.sort(key=lambda p: p.line or 0)
            continue
        except (YAMLError, _LimitError) as exc:
            if isinstance(exc, _LimitError):
                mark = exc.mark
                problem = SourceProblem(exc.message, mark.line + line_base, mark.column + 1)
                error_index: int | None = mark.index
            else:
                problem, error_index = _problem_from(exc, line_base)
            yield from emitter.emit(None, problem.line or 0, [problem])
            resume = _resume_at(text, document_start if error_index is None else error_index,
                                document_start)
            if resume is None:
                yield from emitter.flush()
                return
            line_base += len(_LINE_BREAK.findall(text, 0, resume))
            text = text[resume:]
        finally:
            dispose = getattr(parser, "dispose", None)
            if dispose is not None:
                dispose()
