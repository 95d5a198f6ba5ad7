"""Mark template lines with a trailing YAML comment naming file and line.

A marker is written only where it is literal text that cannot change what Helm renders
apart from itself: after the last non-blank character of a line whose text outside actions
is not blank, never inside an action (``{{ ... }}``, which may span lines, with its strings
and comments), and never after an action that trims the whitespace following it (`` -}}``),
where it would keep a newline Helm removes. Whitespace trimming by a following ``{{-`` stops
at the marker's last character, and the space before ``#`` is the marker's own, so removing
the marker text restores the plain output exactly. The lexing follows Go's text/template
lexer (src/text/template/parse/lex.go: ``{{- `` / `` -}}`` trim markers, ``/* */``
comments, quoted, raw and character strings inside actions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKER = re.compile(r" #@@og:(\d+):(\d+)@@")


def marker(file_id: int, line: int) -> str:
    return f" #@@og:{file_id}:{line}@@"


@dataclass
class TemplateLines:
    """Per template line (1-based index - 1): its text outside actions."""

    literal: list[str]


def _scan(text: str) -> tuple[list[str], list[bool]]:
    """Per line: the literal text outside actions, and whether a marker may end it."""
    literals: list[str] = []
    markable: list[bool] = []
    current: list[str] = []
    in_action = False
    trimmed_tail = False  # the last action on this line ends with " -}}" and only blanks follow

    def end_line(inside: bool) -> None:
        nonlocal current, trimmed_tail
        literal = "".join(current)
        literals.append(literal)
        markable.append(not inside and not trimmed_tail and bool(literal.strip()))
        current = []
        trimmed_tail = False

    def skip_to(stop: int) -> int:
        """Skip action text up to ``stop``, ending the lines it spans."""
        for _ in range(text.count("\n", i, stop)):
            end_line(True)
        return stop

    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if in_action:
            if ch == "\n":
                end_line(True)
                i += 1
            elif text.startswith("/*", i):
                end = text.find("*/", i + 2)
                i = skip_to(n if end < 0 else end + 2)
            elif ch in "\"'":
                j = i + 1
                while j < n and text[j] != ch and text[j] != "\n":
                    j += 2 if text[j] == "\\" else 1
                i = skip_to(min(j + 1, n))
            elif ch == "`":
                end = text.find("`", i + 1)
                i = skip_to(n if end < 0 else end + 1)
            elif text.startswith(" -}}", i) or text.startswith("}}", i):
                trimmed_tail = text[i] == " "
                i += 4 if trimmed_tail else 2
                in_action = False
            else:
                i += 1
            continue
        if ch == "\n":
            end_line(False)
        elif text.startswith("{{", i):
            in_action = True
            i += 1
        else:
            current.append(ch)
            if not ch.isspace():
                trimmed_tail = False
        i += 1
    literals.append("".join(current))
    markable.append(False)  # the last line has no newline: nothing may follow it safely
    return literals, markable


def annotate(text: str, file_id: int) -> tuple[str, TemplateLines]:
    """The template with markers, and its lines' literal text (for the owner checks)."""
    literals, markable = _scan(text)
    lines = text.split("\n")
    out = []
    for number, (line, mark) in enumerate(zip(lines, markable, strict=True), start=1):
        if mark:
            body = line.rstrip(" \t\r")
            line = body + marker(file_id, number) + line[len(body):]
        out.append(line)
    return "\n".join(out), TemplateLines(literals)
