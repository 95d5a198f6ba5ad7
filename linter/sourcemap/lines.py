"""Read the markers back from an annotated render and align it with the plain render.

The plain render is what is linted. Each annotated template's output, with its markers
removed, is compared with the plain output of the same template: when equal (the rule, as
tests prove for every fixture chart) every line keeps its markers; when not (a template
hashed or truncated an included text that carried markers), only lines of runs that are
equal in both keep them, the others have none and fall back. Markers never add or remove
a newline, so annotated and stripped lines correspond one to one.
"""

from __future__ import annotations

from dataclasses import dataclass

from oomguard.linter.sourcemap.annotate import MARKER

Origin = tuple[int, int]  # (file id, template line)


@dataclass
class RenderedLines:
    """One rendered template file: per plain line (index = line - 1), the markers on it."""

    text_lines: list[str]
    markers: list[list[Origin]]
    exact: bool  # the stripped annotated output equals the plain output


def read_markers(annotated: str) -> tuple[list[str], list[list[Origin]]]:
    """Stripped lines and the markers each carried, in output order."""
    lines: list[str] = []
    markers: list[list[Origin]] = []
    for raw in annotated.split("\n"):
        found = [(int(m.group(1)), int(m.group(2))) for m in MARKER.finditer(raw)]
        lines.append(MARKER.sub("", raw) if found else raw)
        markers.append(found)
    return lines, markers


def align(plain: str, annotated: str) -> RenderedLines:
    plain_lines = plain.split("\n")
    stripped, markers = read_markers(annotated)
    if stripped == plain_lines:
        return RenderedLines(plain_lines, markers, True)
    import difflib  # only when the texts differ

    kept: list[list[Origin]] = [[] for _ in plain_lines]
    matcher = difflib.SequenceMatcher(None, plain_lines, stripped, autojunk=False)
    for block in matcher.get_matching_blocks():
        if block.size < 2:  # a lone equal line ("---", "spec:") may be matched by chance
            continue
        for k in range(block.size):
            kept[block.a + k] = markers[block.b + k]
    return RenderedLines(plain_lines, kept, False)
