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
_OUTSIDE = re.compile(r"\{\{|\n")
_IN_ACTION = re.compile(r"\n|/\*|[\"'`]| -\}\}|\}\}")


def marker(file_id: int, line: int) -> str:
    return f" #@@og:{file_id}:{line}@@"


@dataclass
class TemplateLines:
    """Per template line (1-based index - 1): its text outside actions."""

    literal: list[str]


@dataclass(frozen=True)
class Action:
    body: str  # between the delimiters, trim markers included
    open_line: int
    close_line: int


def _scan(text: str) -> tuple[list[str], list[bool], list[Action]]:
    """Per line: the literal text outside actions, and whether a marker may end it; and
    the actions."""
    actions: list[Action] = []
    action_start = open_line = 0
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
        if in_action:
            found = _IN_ACTION.search(text, i)
            if found is None:
                i = skip_to(n)
                break
            i, token = found.start(), found.group()
            if token == "\n":
                end_line(True)
                i += 1
            elif token == "/*":
                end = text.find("*/", i + 2)
                i = skip_to(n if end < 0 else end + 2)
            elif token in "\"'":
                j = i + 1
                while j < n and text[j] != token and text[j] != "\n":
                    j += 2 if text[j] == "\\" else 1
                i = skip_to(min(j + 1, n))
            elif token == "`":
                end = text.find("`", i + 1)
                i = skip_to(n if end < 0 else end + 1)
            else:  # "}}" or " -}}"
                actions.append(Action(text[action_start:i], open_line, len(literals) + 1))
                trimmed_tail = token == " -}}"
                i += len(token)
                in_action = False
            continue
        found = _OUTSIDE.search(text, i)
        stop = n if found is None else found.start()
        chunk = text[i:stop]
        current.append(chunk)
        if chunk.strip():
            trimmed_tail = False
        if found is None:
            i = n
        elif found.group() == "\n":
            end_line(False)
            i = stop + 1
        else:
            in_action = True
            action_start = stop + 2
            open_line = len(literals) + 1
            i = stop + 2
    literals.append("".join(current))
    markable.append(False)  # the last line has no newline: nothing may follow it safely
    return literals, markable, actions


# What may be done to an included text that carries markers without changing anything
# but the markers: re-indent it, trim its ends, quote it, read it as YAML (they are comments).
_SAFE_STAGES = frozenset({"nindent", "indent", "trim", "quote", "squote", "fromYaml"})
_INCLUDE = re.compile(r"\b(include|template)\s+(\"(?:[^\"\\]|\\.)*\"|\(|\$?[\w.]+)")
_BLOCK_START = re.compile(r"^-?\s*(if|range|with|define|block)\b")
_BLOCK_END = re.compile(r"^-?\s*end\b")
_DEFINE = re.compile(r"^-?\s*(?:define|block)\s+\"((?:[^\"\\]|\\.)*)\"")
_FILE_NAME = re.compile(r"\"([^\"]*\.(?:ya?ml|tpl|txt|json))\"")


@dataclass
class ScannedTemplate:
    """One template file, lexed: its lines' literal text, where markers may go, its
    actions, and the extent (first, last line) and includes of each named template."""

    name: str  # the file's path inside the chart, as Helm names templates
    text: str
    literal: list[str]
    markable: list[bool]
    defines: dict[str, tuple[int, int]]
    calls: dict[str | None, set[str]]  # define name (None: outside any) -> names included


def scan(text: str, name: str) -> tuple[ScannedTemplate, set[str], set[str]]:
    """Lex a template; also the named templates and template files whose included text is
    put through something a marker would change (``sha256sum``, ``trunc``, ``printf``...)."""
    literal, markable, actions = _scan(text)
    defines: dict[str, tuple[int, int]] = {}
    calls: dict[str | None, set[str]] = {None: set()}
    unsafe_names: set[str] = set()
    unsafe_files: set[str] = set()
    stack: list[tuple[str | None, int]] = []
    for action in actions:
        body = action.body.strip()
        if body.startswith("/*") or body.startswith("- /*"):
            continue
        opened = _DEFINE.match(body)
        if opened:
            stack.append((opened.group(1), action.close_line))
        elif _BLOCK_START.match(body):
            stack.append((None, action.close_line))
        elif _BLOCK_END.match(body) and stack:
            name_, first = stack.pop()
            if name_ is not None:
                defines[name_] = (first, action.open_line)
        inside = next((n for n, _ in reversed(stack) if n is not None), None)
        for found in _INCLUDE.finditer(body):
            target = found.group(2)
            if target.startswith('"'):
                calls.setdefault(inside, set()).add(target[1:-1])
            end = found.end()
            if target == "(":  # the name is computed: judge the pipeline after it
                end = _closing(body, end)
            if not _safe_use(body, found.start(), end):
                if target.startswith('"'):
                    unsafe_names.add(target[1:-1])
                else:  # include (print $.Template.BasePath "/configmap.yaml"): a file
                    unsafe_files.update(m.group(1) for m in _FILE_NAME.finditer(body))
    return (ScannedTemplate(name, text, literal, markable, defines, calls),
            unsafe_names, unsafe_files)


def _closing(body: str, start: int) -> int:
    """The index after the parenthesis that closes the one opened before ``start``."""
    depth = 1
    for index in range(start, len(body)):
        if body[index] == "(":
            depth += 1
        elif body[index] == ")":
            depth -= 1
            if depth == 0:
                return index + 1
    return len(body)


def _safe_use(body: str, start: int, end: int) -> bool:
    """Whether the include at body[start:end] only flows through safe pipeline stages."""
    before = body[:start].rstrip()
    if before.endswith("("):  # an argument of a call: safe only as fromYaml's
        return re.search(r"\bfromYaml\s*\($", before) is not None
    depth = 0
    stages = []
    for index in range(end, len(body)):  # the rest of this pipeline, at the same depth
        ch = body[index]
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        elif ch == "|" and depth == 0:
            stages.append(body[index + 1:].split()[0] if body[index + 1:].split() else "")
    return all(stage.strip("()") in _SAFE_STAGES for stage in stages)


def unsafe_closure(templates: list[ScannedTemplate], names: set[str], files: set[str]
                   ) -> set[str]:
    """Named templates (and ``file:<name>`` entries) that must carry no marker: those put
    through unsafe stages, and everything they include, transitively."""
    out = set(names)
    out.update(f"file:{t.name}" for t in templates
               if any(t.name.endswith(f.lstrip("/")) for f in files))
    called: dict[str, set[str]] = {}
    for t in templates:
        for define, targets in t.calls.items():
            key = define if define is not None else f"file:{t.name}"
            called.setdefault(key, set()).update(targets)
    todo = list(out)
    while todo:
        for target in called.get(todo.pop(), ()):
            if target not in out:
                out.add(target)
                todo.append(target)
    return out


def annotate_scanned(template: ScannedTemplate, file_id: int, unsafe: set[str]
                     ) -> tuple[str, TemplateLines]:
    """The template with markers except in unsafe named templates (or not at all when the
    whole file is included unsafely)."""
    markable = list(template.markable)
    if f"file:{template.name}" in unsafe:
        markable = [False] * len(markable)
    for name, (first, last) in template.defines.items():
        if name in unsafe:  # lines first..last-1 end inside the define's body
            for number in range(first, last):
                markable[number - 1] = False
    return _write(template.text, template.literal, markable, file_id)


def annotate(text: str, file_id: int) -> tuple[str, TemplateLines]:
    """The template with markers, and its lines' literal text (for the owner checks)."""
    literals, markable, _ = _scan(text)
    return _write(text, literals, markable, file_id)


def _write(text: str, literals: list[str], markable: list[bool], file_id: int
           ) -> tuple[str, TemplateLines]:
    lines = text.split("\n")
    out = []
    for number, (line, mark) in enumerate(zip(lines, markable, strict=True), start=1):
        if mark:
            body = line.rstrip(" \t\r")
            line = body + marker(file_id, number) + line[len(body):]
        out.append(line)
    return "\n".join(out), TemplateLines(literals)
