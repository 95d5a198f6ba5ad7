"""Kubelet command-line flags in a file: env files, systemd drop-ins, plain flag lists.

Words are split the way a shell (or systemd) would: quotes, backslash escapes, ``\\`` line
continuations and ``#`` comments; ``NAME=VALUE`` words whose value holds flags
(``KUBELET_EXTRA_ARGS=...``, ``Environment="KUBELET_KUBEADM_ARGS=..."``, ``ExecStart=...``)
are split again. Every word keeps the line and column of each of its characters, so a
finding points at the flag, or at the signal inside its value.

Flag names and value formats are those of cmd/kubelet/app/options/options.go:

- ``--eviction-hard``/``--eviction-soft``: ``signal<value`` pairs separated by commas
  (component-base LangleSeparatedMapStringString: spaces trimmed, a pair without ``<`` is
  an error);
- ``--eviction-soft-grace-period``, ``--eviction-minimum-reclaim``, ``--system-reserved``,
  ``--kube-reserved``: ``key=value`` pairs (MapStringString);
- the first occurrence of a map flag replaces the config file's map, later ones add to it;
- ``--enforce-node-allocatable``: a comma-separated list (pflag StringSlice: later
  occurrences append);
- ``--reserved-memory``: ``numa:type=quantity[,type=quantity][;numa:...]``, repeatable
  (pkg/kubelet/util/flag ReservedMemoryVar);
- ``_`` and ``-`` are the same in flag names (cliflag.WordSepNormalizeFunc).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from oomguard.policies.node.kubelet import FlagProblem, KubeletSettings
from oomguard.policies.positions import SourceProblem
from oomguard.policies.quantity import QuantityError, parse_quantity
from oomguard.policies.rule import Path

Position = tuple[int, int]

# flag -> (KubeletConfiguration field, how the value is read)
FLAG_FIELDS: dict[str, tuple[str, str]] = {
    "eviction-hard": ("evictionHard", "langle-map"),
    "eviction-soft": ("evictionSoft", "langle-map"),
    "eviction-soft-grace-period": ("evictionSoftGracePeriod", "map"),
    "eviction-minimum-reclaim": ("evictionMinimumReclaim", "map"),
    "system-reserved": ("systemReserved", "map"),
    "kube-reserved": ("kubeReserved", "map"),
    "enforce-node-allocatable": ("enforceNodeAllocatable", "list"),
    "system-reserved-cgroup": ("systemReservedCgroup", "string"),
    "kube-reserved-cgroup": ("kubeReservedCgroup", "string"),
    "cgroups-per-qos": ("cgroupsPerQOS", "bool"),
    "protect-kernel-defaults": ("protectKernelDefaults", "bool"),
    "memory-manager-policy": ("memoryManagerPolicy", "string"),
    "reserved-memory": ("reservedMemory", "reserved-memory"),
}
CONFIG_FLAGS = ("config", "config-dir")
# Flags that make a file kubelet configuration when it holds one of them.
MEMORY_FLAG_HINT = re.compile(
    r"--(?:eviction[-_](?:hard|soft|soft[-_]grace[-_]period|minimum[-_]reclaim)|"
    r"system[-_]reserved|kube[-_]reserved|enforce[-_]node[-_]allocatable|"
    r"reserved[-_]memory|memory[-_]manager[-_]policy)(?=[=\s\"']|$)", re.MULTILINE)
# A kubelet env file or systemd unit, memory flags or not.
KUBELET_FLAG_FILE_HINT = re.compile(
    r"^\s*(?:export\s+|Environment=)?[\"']?KUBELET_[A-Z_]*ARGS="
    r"|^\s*ExecStart=\S*kubelet\b", re.MULTILINE)
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_HUGEPAGES = re.compile(r"hugepages-.+")


@dataclass(frozen=True)
class Word:
    """A shell word and the (line, column) of each of its characters."""

    text: str
    where: tuple[Position, ...]
    start: Position

    def pos(self, index: int) -> Position:
        return self.where[index] if 0 <= index < len(self.where) else self.start


@dataclass(frozen=True)
class Flag:
    name: str  # normalized: dashes, no leading --
    value: str | None
    position: Position  # of the leading --
    value_word: Word | None = None  # characters of the value, when known

    def value_pos(self, index: int) -> Position:
        return self.value_word.pos(index) if self.value_word is not None else self.position


@dataclass
class FlagScan:
    """What a flag file holds beside the flags themselves."""

    flags: list[Flag] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)
    invocation: Position | None = None  # a word naming the kubelet binary
    expansions: bool = False  # $VAR words: more flags come from elsewhere
    config_file: str | None = None  # --config / --config-dir

    @property
    def complete(self) -> bool:
        """A whole kubelet command line: the binary, no config file, nothing expanded."""
        return self.invocation is not None and self.config_file is None and not self.expansions


class _Lines:
    """Absolute offsets to (line, column)."""

    def __init__(self, text: str) -> None:
        self.starts = [0]
        for index, char in enumerate(text):
            if char == "\n":
                self.starts.append(index + 1)

    def pos(self, offset: int) -> Position:
        line = bisect.bisect_right(self.starts, offset) - 1
        return (line + 1, offset - self.starts[line] + 1)


def _logical_lines(text: str) -> Iterable[tuple[str, list[int]]]:
    """Lines with backslash continuations joined (by a space), and for every character of
    the joined line its offset in ``text``."""
    chars: list[str] = []
    offsets: list[int] = []
    offset = 0
    for physical in text.splitlines(keepends=True):
        body = physical.rstrip("\r\n")
        continued = body.endswith("\\") and not body.endswith("\\\\")
        if continued:
            body = body[:-1]
        chars.extend(body)
        offsets.extend(range(offset, offset + len(body)))
        if continued:
            chars.append(" ")
            offsets.append(offset + len(body))
        else:
            yield "".join(chars), offsets
            chars, offsets = [], []
        offset += len(physical)
    if chars:
        yield "".join(chars), offsets


def split_words(line: str, where: list[Position], problems: list[SourceProblem]
                ) -> list[Word]:
    """Shell-like words of one logical line; a quote left open ends at the line's end and
    is reported."""
    words: list[Word] = []
    i = 0
    n = len(line)
    while i < n:
        while i < n and line[i] in " \t":
            i += 1
        if i >= n:
            break
        if line[i] == "#":
            break  # a comment to the end of the line
        text: list[str] = []
        pos: list[Position] = []
        start = where[i]
        while i < n and line[i] not in " \t":
            char = line[i]
            if char == "\\" and i + 1 < n:
                text.append(line[i + 1])
                pos.append(where[i + 1])
                i += 2
            elif char in "'\"":
                close = line.find(char, i + 1)
                while char == '"' and close > 0 and line[close - 1] == "\\":
                    close = line.find(char, close + 1)
                if close < 0:
                    problems.append(SourceProblem(
                        f"unterminated {char} quote: the rest of the line is read as one "
                        "word", *where[i]))
                    close = n
                for j in range(i + 1, close):
                    if char == '"' and line[j] == "\\" and j + 1 < close and \
                            line[j + 1] in '"\\$`':
                        continue
                    text.append(line[j])
                    pos.append(where[j])
                i = close + 1
            else:
                text.append(char)
                pos.append(where[i])
                i += 1
        words.append(Word("".join(text), tuple(pos), start))
    return words


def _basename(word: str) -> str:
    return word.lstrip("-@+!:").rsplit("/", 1)[-1]


def _scan(words: list[Word], scan: FlagScan, command: bool = True) -> None:
    """Flags among ``words``; ``command``: the first word that is no ``NAME=VALUE`` may
    name the kubelet binary."""
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        text = word.text
        if text.startswith("--") and len(text) > 2:
            command = False
            name, eq, value = text[2:].partition("=")
            name = name.replace("_", "-")
            value_word: Word | None = None
            if eq:
                skip = 3 + len(name)
                value_word = Word(value, word.where[skip:], word.pos(skip))
            else:
                kind = FLAG_FIELDS.get(name, ("", ""))[1]
                takes_value = (kind and kind != "bool") or name in CONFIG_FLAGS
                if takes_value and i < len(words) and not words[i].text.startswith("-"):
                    value_word = words[i]
                    value = value_word.text
                    eq = "="
                    i += 1
            flag = Flag(name, value if eq else None, word.start, value_word)
            if name in CONFIG_FLAGS:
                scan.config_file = flag.value or ""
            scan.flags.append(flag)
            continue
        if "$" in text:
            scan.expansions = True
        match = _ASSIGNMENT.match(text)
        if match:
            name = match.group(1)
            value = text[match.end():]
            inner = Word(value, word.where[match.end():], word.pos(match.end()))
            if name.startswith("ExecStart"):
                _scan(split_words(inner.text, list(inner.where), scan.problems), scan, True)
            elif name == "Environment" or name.startswith("KUBELET") or "--" in value:
                _scan(split_words(inner.text, list(inner.where), scan.problems), scan, False)
            continue
        if command and _basename(text) == "kubelet":
            scan.invocation = word.start
        command = False


def scan_flags(text: str) -> FlagScan:
    """Every flag in a file, with positions, and whether it is a whole command line."""
    scan = FlagScan()
    lines = _Lines(text)
    for line, offsets in _logical_lines(text):
        stripped = line.lstrip()
        if not stripped or stripped.startswith(("#", ";", "[")):
            continue
        where = [lines.pos(o) for o in offsets]
        _scan(split_words(line, where, scan.problems), scan)
    return scan


# -- flags to settings ------------------------------------------------------------------

@dataclass
class FlagOverlay:
    """Where each field (and each key inside it) set by a flag was written."""

    positions: dict[Path, Position] = field(default_factory=dict)

    def locate(self, path: Path) -> Position | None:
        for size in range(len(path), 0, -1):
            found = self.positions.get(tuple(path[:size]))
            if found is not None:
                return found
        return None


def _pairs(flag: Flag, separator: str, field_name: str, target: dict[str, Any],
           overlay: FlagOverlay, problems: list[FlagProblem]) -> None:
    value = flag.value or ""
    start = 0
    for item in value.split(","):
        end = start + len(item)
        body = item.strip()
        lead = start + len(item) - len(item.lstrip())
        if body:
            key, sep, val = body.partition(separator)
            if not sep:
                line, column = flag.value_pos(lead)
                problems.append(FlagProblem(
                    field_name, f"--{flag.name}: malformed pair {body!r}, expected "
                    f"key{separator}value: the kubelet exits", line, column))
            else:
                target[key.strip()] = val.strip()
                overlay.positions[(field_name, key.strip())] = flag.value_pos(lead)
        start = end + 1


def _reserved_memory(flag: Flag, entries: list[Any], overlay: FlagOverlay,
                     problems: list[FlagProblem]) -> None:
    value = flag.value or ""
    if not value:
        return
    start = 0
    for chunk in value.split(";"):
        here = flag.value_pos(start)
        parts = chunk.split(":")
        index = len(entries)
        if len(parts) != 2:
            problems.append(FlagProblem("reservedMemory", f"--reserved-memory: {chunk!r} is "
                                        "not numaNode:type=quantity[,type=quantity]: the "
                                        "kubelet exits", *here))
            start += len(chunk) + 1
            continue
        limits: dict[str, str] = {}
        entry: dict[str, Any] = {"numaNode": parts[0], "limits": limits}
        try:
            entry["numaNode"] = int(parts[0])
        except ValueError:
            problems.append(FlagProblem("reservedMemory", f"--reserved-memory: NUMA node "
                                        f"{parts[0]!r} is not an integer: the kubelet exits",
                                        *here))
        offset = start + len(parts[0]) + 1
        for item in parts[1].split(","):
            kind, eq, qty = item.partition("=")
            item_pos = flag.value_pos(offset)
            if not eq or "=" in qty:
                problems.append(FlagProblem("reservedMemory", f"--reserved-memory: {item!r} "
                                            "is not type=quantity: the kubelet exits",
                                            *item_pos))
            elif kind != "memory" and not _HUGEPAGES.fullmatch(kind):
                problems.append(FlagProblem("reservedMemory", f"--reserved-memory: unknown "
                                            f"memory type {kind!r}: the kubelet exits",
                                            *item_pos))
            else:
                try:
                    parse_quantity(qty)
                except QuantityError:
                    problems.append(FlagProblem("reservedMemory", f"--reserved-memory: "
                                                f"{qty!r} is not a quantity: the kubelet "
                                                "exits", *item_pos))
                limits[kind] = qty
                overlay.positions[("reservedMemory", index, "limits", kind)] = item_pos
            offset += len(item) + 1
        overlay.positions[("reservedMemory", index)] = here
        entries.append(entry)
        start += len(chunk) + 1


def apply_flags(settings: KubeletSettings, flags: Iterable[Flag]) -> FlagOverlay:
    """Apply flags over ``settings`` as the kubelet applies them over its config file."""
    overlay = FlagOverlay()
    for flag in flags:
        spec = FLAG_FIELDS.get(flag.name)
        if spec is None:
            continue
        field_name, kind = spec
        first = field_name not in settings.from_flags
        settings.from_flags.add(field_name)
        if first:
            overlay.positions[(field_name,)] = flag.position
        value = flag.value if flag.value is not None else ""
        if kind in ("langle-map", "map"):
            current = settings.fields.get(field_name)
            target: dict[str, Any] = current if not first and isinstance(current, dict) else {}
            settings.fields[field_name] = target
            _pairs(flag, "<" if kind == "langle-map" else "=", field_name, target, overlay,
                   settings.flag_problems)
        elif kind == "list":
            current = settings.fields.get(field_name)
            items: list[Any] = current if not first and isinstance(current, list) else []
            settings.fields[field_name] = items
            offset = 0
            for part in value.split(",") if value else []:
                overlay.positions[(field_name, len(items))] = flag.value_pos(offset)
                items.append(part)
                offset += len(part) + 1
        elif kind == "bool":
            if flag.value is None or value in _GO_TRUE:
                settings.fields[field_name] = True
            elif value in _GO_FALSE:
                settings.fields[field_name] = False
            else:
                settings.flag_problems.append(FlagProblem(
                    field_name, f"--{flag.name}={value}: not a boolean: the kubelet exits",
                    *flag.position))
        elif kind == "string":
            settings.fields[field_name] = value
            overlay.positions[(field_name,)] = flag.position
        else:  # reserved-memory
            current = settings.fields.get(field_name)
            entries: list[Any] = current if not first and isinstance(current, list) else []
            settings.fields[field_name] = entries
            _reserved_memory(flag, entries, overlay, settings.flag_problems)
    return overlay


def flags_from_kubeadm(args: Any) -> list[Flag]:
    """nodeRegistration.kubeletExtraArgs: a map (kubeadm v1beta3) or a list of
    ``{name, value}`` (v1beta4, repeatable), as kubeadm writes them to kubeadm-flags.env."""
    flags: list[Flag] = []
    if isinstance(args, dict):
        key_pos = getattr(args, "key_pos", {})
        for name, value in args.items():
            where = key_pos.get(name, getattr(args, "pos", (0, 0)))
            flags.append(Flag(str(name).replace("_", "-"), None if value is None else
                              str(value), where))
    elif isinstance(args, list):
        item_pos = getattr(args, "item_pos", [])
        for index, item in enumerate(args):
            if not isinstance(item, dict) or item.get("name") is None:
                continue
            where = item_pos[index] if index < len(item_pos) else getattr(args, "pos", (0, 0))
            value = item.get("value")
            flags.append(Flag(str(item["name"]).replace("_", "-"),
                              None if value is None else str(value), where))
    return [f for f in flags if f.name in FLAG_FIELDS]
