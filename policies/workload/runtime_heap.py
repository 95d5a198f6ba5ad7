"""Runtime heap settings a container declares: JVM, Node.js and Go.

Sources of the formats:
- JVM ``-Xmx<size>`` / ``-XX:MaxHeapSize=<size>``: bytes or a ``k``/``m``/``g``/``t`` suffix in
  either case, binary multiples (the ``java`` launcher manual). The JVM reads
  ``JAVA_TOOL_OPTIONS`` first, then ``JDK_JAVA_OPTIONS`` (prepended by the launcher), then the
  command line, then ``_JAVA_OPTIONS``; the last setting wins. ``JAVA_OPTS`` is a convention of
  start scripts that put it on the command line.
- Node ``--max-old-space-size=<MiB>`` (V8 option; the value is in MiB), also in
  ``NODE_OPTIONS``.
- Go ``GOMEMLIMIT``: an integer with an optional ``B``/``KiB``/``MiB``/``GiB``/``TiB`` suffix,
  or ``off`` (runtime/debug.SetMemoryLimit; the runtime's parseByteCount).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from oomguard.policies.quantity import MAX_QUANTITY
from oomguard.policies.rule import Path

if TYPE_CHECKING:  # the model imports this module (Container.heap_settings): types only here
    from oomguard.policies.workload.model import Container

JAVA_ENV_ORDER = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "JAVA_OPTS", "_JAVA_OPTIONS")
_JVM_HEAP = re.compile(r"^-(?:Xmx|XX:MaxHeapSize=)(\d+)([kKmMgGtT]?)$")
_JVM_RAM_PERCENT = re.compile(r"^-XX:MaxRAMPercentage=(\d+(?:\.\d*)?)$")
_NODE_HEAP = re.compile(r"^--max[-_]old[-_]space[-_]size(?:=(\d+))?$")
_GO_LIMIT = re.compile(r"^(\d+)(B|KiB|MiB|GiB|TiB)?$")
_JVM_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_GO_UNITS = {None: 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}


@dataclass(frozen=True)
class HeapSetting:
    runtime: str  # "jvm", "node" or "go"
    kind: str  # "max-heap" or "max-ram-percentage"
    value: Decimal  # bytes, or percent for max-ram-percentage
    text: str  # the flag as written
    path: Path


def _amount(digits: str, unit: int) -> Decimal:
    """``digits`` times ``unit`` bytes, capped at 2^63-1 as quantities are
    (policies.quantity.MAX_QUANTITY): no runtime takes more (the JVM and Go refuse a value that
    overflows 64 bits at start), and a thousand-digit flag must not become a thousand-digit
    integer (int() refuses past 4,300 digits and is quadratic below)."""
    significant = digits.lstrip("0")
    if len(significant) > 19:
        return MAX_QUANTITY
    return min(Decimal(int(significant or "0") * unit), MAX_QUANTITY)


def _words(text: str) -> list[str]:
    """Split a shell-ish string; fall back to whitespace on unbalanced quotes."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _mentions_heap(text: str) -> bool:
    """Text without any of these holds no heap setting: it is not split into words at all.
    (Spelled out rather than any() over a tuple: this runs on every word of every command.)"""
    return ("-Xmx" in text or "MaxHeapSize" in text or "MaxRAMPercentage" in text
            or "max-old-space-size" in text or "max_old_space_size" in text)


def _argv_words(container: Container) -> Iterator[tuple[str, Path]]:
    """Every word of command and args, shell scripts (``sh -c``) split into words too."""
    for key, values in (("command", container.command), ("args", container.args)):
        for i, value in enumerate(values):
            if not _mentions_heap(value):
                continue
            for word in _words(value) if " " in value else [value]:
                yield word, (*container.path, key, i)


def _jvm(word: str, path: Path) -> HeapSetting | None:
    match = _JVM_HEAP.match(word)
    if match:
        return HeapSetting("jvm", "max-heap",
                           _amount(match[1], _JVM_UNITS[match[2].lower()]), word, path)
    match = _JVM_RAM_PERCENT.match(word)
    if match:
        return HeapSetting("jvm", "max-ram-percentage", Decimal(match[1]), word, path)
    return None


def _node(words: list[tuple[str, Path]]) -> Iterator[HeapSetting]:
    for i, (word, path) in enumerate(words):
        match = _NODE_HEAP.match(word)
        if not match:
            continue
        value = match[1]
        if value is None and i + 1 < len(words) and words[i + 1][0].isdigit():
            value = words[i + 1][0]
        if value is not None:
            yield HeapSetting("node", "max-heap", _amount(value, 1 << 20), word, path)


def heap_settings(container: Container) -> list[HeapSetting]:
    """The effective heap settings of a container, per runtime and kind (last one wins).
    (Rules read them as ``Container.heap_settings``, computed once.)"""
    text = container.command_text
    # the common case, nothing that sets a heap, decided without further calls
    if (text and _mentions_heap(text)) or container.sets_env(_HEAP_ENV):
        return _heap_settings(container)
    return []


_HEAP_ENV = frozenset({*JAVA_ENV_ORDER, "NODE_OPTIONS", "GOMEMLIMIT"})


def _heap_settings(container: Container) -> list[HeapSetting]:
    """(For a container that mentions a heap flag or sets a heap variable.)"""
    env = {var.name: var for var in container.env if var.value is not None
           and "$(" not in var.value}
    jvm: list[HeapSetting] = []
    node: list[HeapSetting] = []
    go: list[HeapSetting] = []
    argv = list(_argv_words(container))

    def env_words(name: str) -> list[tuple[str, Path]]:
        var = env.get(name)
        if var is None or not _mentions_heap(var.value or ""):
            return []
        return [(w, var.path) for w in _words(var.value or "")]

    java_sources = [env_words("JAVA_TOOL_OPTIONS"), env_words("JDK_JAVA_OPTIONS"),
                    env_words("JAVA_OPTS"), argv, env_words("_JAVA_OPTIONS")]
    for source in java_sources:
        jvm.extend(s for s in (_jvm(w, p) for w, p in source) if s is not None)
    node.extend(_node(env_words("NODE_OPTIONS")))
    node.extend(_node(argv))
    limit = env.get("GOMEMLIMIT")
    if limit is not None and limit.value is not None:
        match = _GO_LIMIT.match(limit.value.strip())
        if match:
            go.append(HeapSetting("go", "max-heap",
                                  _amount(match[1], _GO_UNITS[match[2]]),
                                  f"GOMEMLIMIT={limit.value}", limit.path))
    effective: dict[tuple[str, str], HeapSetting] = {}
    for setting in (*jvm, *node, *go):
        effective[(setting.runtime, setting.kind)] = setting  # later wins
    return list(effective.values())
