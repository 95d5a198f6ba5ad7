"""Move findings on rendered Helm documents to the template line and values key.

A rendered line's *owner* is the template line whose literal text wrote it: a marker on
that line (or, for ``key: {{ toYaml ... | nindent }}``, the first marker after it) whose
template text outside actions holds the rendered key. A line an action generated (values
through ``toYaml``, ``tpl``) has no owner; the finding then goes to the nearest enclosing
node that has one (by YAML block indentation), as a reviewer would edit it there. No owner
up to the document's top: the finding keeps its rendered position, marked ``rendered``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from oomguard.linter.sourcemap.lines import RenderedLines
from oomguard.linter.sourcemap.values import (
    ValuesPath,
    ValuesPosition,
    ValuesSource,
    locate_key,
)
from oomguard.policies.rule import Finding

# "key:" at the start of a block mapping line (after "- " items), plain or quoted.
_KEY = re.compile(r"""(?P<key>"[^"]*"|'[^']*'|[^\s#'"\-?:][^#]*?|-[^\s#][^#]*?):(?:\s|$)""")
_MAX_STEPS = 64


@dataclass(frozen=True)
class Position:
    file: str
    line: int | None
    column: int | None

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column}


@dataclass(frozen=True)
class FindingSource:
    """Where a Helm finding comes from; ``template`` None: only the rendered position."""

    rendered: Position
    template: Position | None
    values: ValuesPosition | None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"position": "template" if self.template else "rendered",
                               "rendered": self.rendered.to_json()}
        if self.values is not None:
            out["values"] = self.values.to_json()
        return out


@dataclass
class TemplateFile:
    shown: str  # the template file under the chart directory
    raw: list[str]
    literal: list[str]


@dataclass
class ChartSourceMap:
    """What locating the findings of one chart needs (built by linter.helm)."""

    files: list[TemplateFile] = field(default_factory=list)
    rendered: dict[str, RenderedLines] = field(default_factory=dict)  # by rendered file
    # (rendered file, kind, name) -> [(rendered path, values key)], from the sentinel
    # render of string leaves and from that of resources mappings
    leaf_sentinels: dict[tuple[str, str, str], list[tuple[str, ValuesPath]]] = \
        field(default_factory=dict)
    map_sentinels: dict[tuple[str, str, str], list[tuple[str, ValuesPath]]] = \
        field(default_factory=dict)
    # (rendered file, kind, name) -> every path present in the plain render
    plain_paths: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)
    sources: list[ValuesSource] = field(default_factory=list)


def _content(line: str) -> tuple[int, str, str | None, int]:
    """(indentation, text after "- " items, key or None, 1-based column of the key)."""
    indent = len(line) - len(line.lstrip(" "))
    at = indent
    while line.startswith("- ", at) or line[at:].rstrip() == "-":
        at += 2
        while at < len(line) and line[at] == " ":
            at += 1
    rest = line[at:]
    found = _KEY.match(rest)
    return indent, rest, (found.group("key") if found else None), at + 1


def _owner(lines: RenderedLines, files: Sequence[TemplateFile], index: int
           ) -> tuple[TemplateFile, int, int, int] | None:
    """(template, line, key column, rendered key column) of the template line that wrote
    rendered line ``index`` (0-based), if one certainly did."""
    text = lines.text_lines[index]
    _, rest, key, rendered_col = _content(text)
    if not rest.strip() or rest.lstrip().startswith("#"):
        return None
    candidates = [(m, False) for m in lines.markers[index]]
    if not candidates and key is not None and rest.rstrip() == f"{key}:":
        # "key: {{ toYaml . | nindent }}": the action's output starts with a newline and
        # the line's marker comes after it, on the first marked line below
        for later in range(index + 1, len(lines.text_lines)):
            if lines.text_lines[later].startswith("---"):
                break
            if lines.markers[later]:
                candidates.append((lines.markers[later][0], True))
                break
    for (file_id, number), below in candidates:
        if not 0 <= file_id < len(files):
            continue
        template = files[file_id]
        if not 0 < number <= len(template.literal):
            continue
        literal, raw = template.literal[number - 1], template.raw[number - 1]
        if below:  # only a line that writes just this key and then an action
            if literal.strip().lstrip("- ").strip() == f"{key}:" and "{{" in raw:
                return template, number, raw.index(f"{key}:") + 1, rendered_col
        elif key is not None:
            needle = f"{key}:"
            if needle in literal and needle in raw:
                return template, number, raw.index(needle) + 1, rendered_col
        elif literal.strip() and literal.strip().lstrip("- ").strip() == rest.strip():
            return template, number, len(raw) - len(raw.lstrip(" -")) + 1, rendered_col
    return None


def _parent(lines: list[str], index: int) -> int | None:
    """The line of the block node enclosing line ``index``, by indentation."""
    text = lines[index]
    indent = len(text) - len(text.lstrip(" "))
    is_item = text.lstrip(" ").startswith("-")
    for above in range(index - 1, -1, -1):
        line = lines[above]
        stripped = line.strip()
        if line.startswith("---"):
            return None
        if not stripped or stripped.startswith("#"):
            continue
        their = len(line) - len(line.lstrip(" "))
        if their < indent or (is_item and their == indent and not stripped.startswith("-")):
            return above
    return None


def template_position(lines: RenderedLines, files: Sequence[TemplateFile], line: int,
                      column: int | None) -> Position | None:
    index = line - 1
    if not 0 <= index < len(lines.text_lines):
        return None
    first = True
    for _ in range(_MAX_STEPS):
        owner = _owner(lines, files, index)
        if owner is not None:
            template, number, key_col, rendered_col = owner
            col = key_col
            if first and column is not None and column >= rendered_col:
                col = key_col + (column - rendered_col)
            return Position(template.shown, number, col)
        first = False
        parent = _parent(lines.text_lines, index)
        if parent is None:
            return None
        index = parent
    return None


def _values_key(source_map: ChartSourceMap, finding: Finding) -> ValuesPath | None:
    """The values key behind the finding's node: a sentinel at the node or above it (the
    deepest; leaves first), else the one sentinel below it that the plain render lacks (an
    empty value that switched the node off), else the only one below it."""
    obj = finding.object
    if obj is None or finding.file is None:
        return None
    key = (finding.file, str(obj.kind), str(obj.name))
    path = finding.path
    renders = [source_map.leaf_sentinels.get(key, []), source_map.map_sentinels.get(key, [])]
    for entries in renders:
        above = [(rp, vp) for rp, vp in entries
                 if rp == path or path.startswith(rp + ".") or path.startswith(rp + "[")]
        if above:
            rendered, values = max(above, key=lambda entry: len(entry[0]))
            return (*values, *_split(path[len(rendered):]))
    present = source_map.plain_paths.get(key, set())
    below = [[(rp, vp) for rp, vp in entries
              if rp.startswith(path + ".") or rp.startswith(path + "[")] for entries in renders]
    for entries in below:
        absent = {vp for rp, vp in entries if rp not in present}
        if len(absent) == 1:
            return next(iter(absent))
    for entries in below:
        every = {vp for _, vp in entries}
        if len(every) == 1:
            return next(iter(every))
    return None


def _split(rest: str) -> ValuesPath:
    parts: list[Any] = []
    for token in re.findall(r"\.([^.\[]+)|\[(\d+)\]", rest):
        parts.append(token[0] if token[0] else int(token[1]))
    return tuple(parts)


def locate(findings: Sequence[Finding], source_map: ChartSourceMap
           ) -> tuple[list[Finding], dict[Finding, FindingSource]]:
    """The findings with template positions where certain, and each one's sources."""
    out: list[Finding] = []
    sources: dict[Finding, FindingSource] = {}
    for finding in findings:
        lines = source_map.rendered.get(finding.file or "")
        rendered = Position(finding.file or "", finding.line, finding.column)
        template = None
        if lines is not None and finding.line is not None:
            template = template_position(lines, source_map.files, finding.line,
                                         finding.column)
        values_path = _values_key(source_map, finding)
        values = locate_key(source_map.sources, values_path) if values_path else None
        moved = finding if template is None else finding._replace(
            file=template.file, line=template.line, column=template.column)
        out.append(moved)
        sources[moved] = FindingSource(rendered, template, values)
    return out, sources
