"""sysctl files (``/etc/sysctl.d/*.conf``, ``/etc/sysctl.conf``), read as sysctl.d(5) says.

- ``key = value`` lines; spaces around ``=`` and at both ends of the value are dropped;
- whole-line comments start with ``#`` or ``;`` (there are no trailing comments: the rest
  of the line is the value);
- a leading ``-`` only says "ignore a failure to set this": the setting still applies;
- ``/`` or ``.`` separate the parts of a name: when the first separator is a slash, slashes
  and dots are swapped (``vm/panic_on_oom`` is ``vm.panic_on_oom``);
- names may be globs (``net.ipv4.conf.*.rp_filter``); ``!`` before a glob excludes names;
- a later assignment of the same name wins.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from oomguard.policies.positions import SourceProblem

# The top-level /proc/sys directories.
SYSCTL_ROOTS = ("abi", "debug", "dev", "fs", "kernel", "net", "sunrpc", "user", "vm")
_KEY = re.compile(r"[A-Za-z0-9_*?\[\]!:@./-]+\Z")
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class SysctlEntry:
    key: str  # dotted form: vm.panic_on_oom
    written: str  # as written: -vm/panic_on_oom
    value: str
    line: int
    column: int  # of the key
    value_column: int
    glob: bool = False
    exclude: bool = False  # "!pattern": names matching it are left alone


def normalize_key(key: str) -> str:
    """sysctl.d(5): with a slash first, slashes and dots trade places."""
    slash, dot = key.find("/"), key.find(".")
    if slash >= 0 and (dot < 0 or slash < dot):
        return key.translate(str.maketrans("/.", "./"))
    return key


def parse_sysctl(text: str) -> tuple[list[SysctlEntry], list[SourceProblem]]:
    entries: list[SysctlEntry] = []
    problems: list[SourceProblem] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        indent = len(line) - len(line.lstrip())
        key_part, eq, value_part = stripped.partition("=")
        written = key_part.strip()
        if not eq:
            problems.append(SourceProblem(
                f"not a sysctl assignment (`key = value`): {stripped[:60]!r}; sysctl "
                "ignores the line", number, indent + 1))
            continue
        name = written[1:].lstrip() if written.startswith("-") else written
        exclude = name.startswith("!")
        if exclude:
            name = name[1:]
        if not name or not _KEY.match(name):
            problems.append(SourceProblem(f"{written!r} is not a sysctl name; sysctl "
                                          "ignores the line", number, indent + 1))
            continue
        value = value_part.strip()
        value_column = len(line) - len(line.lstrip()) + len(key_part) + 1 + \
            (len(value_part) - len(value_part.lstrip())) + 1
        entries.append(SysctlEntry(normalize_key(name), written, value, number, indent + 1,
                                   value_column, bool(_GLOB.search(name)), exclude))
    return entries, problems


def lookup(entries: list[SysctlEntry], key: str) -> SysctlEntry | None:
    """The assignment that sets ``key``: the last explicit one, else the last glob that
    matches it (unless an exclusion matches it)."""
    explicit = [e for e in entries if not e.glob and not e.exclude and e.key == key]
    if explicit:
        return explicit[-1]
    if any(e.exclude and fnmatch.fnmatchcase(key, e.key) for e in entries):
        return None
    globs = [e for e in entries if e.glob and not e.exclude and fnmatch.fnmatchcase(key, e.key)]
    return globs[-1] if globs else None


def integer_value(value: str) -> int | None:
    """The integer the kernel reads from the start of the value, or None."""
    token = value.split()[0] if value.split() else ""
    try:
        return int(token, 10)
    except ValueError:
        try:
            return int(token, 0)
        except ValueError:
            return None


def looks_like_sysctl(text: str) -> bool:
    """At least one ``root.key = value`` line, and assignments are most of the lines."""
    assignments = recognised = other = 0
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") or stripped.startswith("--") or ": " in stripped:
            other += 1
            continue
        key, eq, _ = stripped.partition("=")
        key = key.strip().lstrip("-").lstrip()
        if not eq or not _KEY.match(key or "?"):
            other += 1
            continue
        assignments += 1
        root = normalize_key(key).split(".", 1)[0]
        if root in SYSCTL_ROOTS and "." in normalize_key(key):
            recognised += 1
    return recognised > 0 and assignments >= other
