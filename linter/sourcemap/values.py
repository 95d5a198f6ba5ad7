"""Values files with positions, the sentinel overlay, and where each sentinel landed.

Helm merges the chart's ``values.yaml`` (each subchart's under its name or alias), then
the ``-f`` files in order, then ``--set`` (pkg/chartutil/coalesce.go, pkg/cli/values/
options.go): a key's value comes from the last of those that sets it. To learn which
values key produces which rendered node, memory-related values are replaced by unique
sentinels (a mapping gets one more key, a string leaf becomes the sentinel) and the chart
is rendered once more; a sentinel found at a path of a rendered object ties that path to
the values key. That render is never linted.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from oomguard.policies.source import iter_documents

SENTINEL = re.compile(r"ogsentinel-(\d+)")
# Mappings and string leaves that can hold or switch on a memory setting.
_MAP_KEYS = re.compile(r"(?i)resources$|^limits$|^requests$")
_LEAF_KEYS = re.compile(r"(?i)mem|heap|xmx|xms|^limit$|^request$")

ValuesPath = tuple[Any, ...]  # keys and list indexes


@dataclass(frozen=True)
class ValuesPosition:
    file: str  # a values file, or "--set"
    line: int | None
    column: int | None
    key: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "key": self.key}

    def text(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where} {self.key}"


@dataclass
class ValuesSource:
    file: str  # as shown to the user
    data: Any  # a policies.source Map (positions) or a plain dict (--set)
    prefix: ValuesPath = ()  # a subchart's values.yaml sits under its name in the parent


def load_values_file(path: str, shown: str, prefix: ValuesPath = ()) -> ValuesSource | None:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return None
    for doc in iter_documents(text):
        if isinstance(doc.data, dict):
            return ValuesSource(shown, doc.data, prefix)
        break
    return None


def key_text(path: ValuesPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _lookup(data: Any, path: ValuesPath) -> tuple[int, Any, Any]:
    """How many leading parts of ``path`` exist in ``data``, the container of the last one
    and its key (for its position)."""
    depth, node, last = 0, data, None
    parent: Any = None
    for part in path:
        if isinstance(node, dict) and not isinstance(part, int) and part in node:
            parent, last, node = node, part, node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            parent, last, node = node, part, node[part]
        else:
            break
        depth += 1
    return depth, parent, last


def _position(container: Any, key: Any) -> tuple[int | None, int | None]:
    if isinstance(key, int):
        at = getattr(container, "item_pos", None)
        pos = at[key] if at and key < len(at) else None
    else:
        pos = getattr(container, "key_pos", {}).get(key)
    return (pos[0], pos[1]) if pos else (None, None)


def locate_key(sources: Sequence[ValuesSource], path: ValuesPath) -> ValuesPosition | None:
    """The values file (highest precedence first) that sets ``path``; when none sets all of
    it, the one that sets the longest part of it (a key to add under)."""
    best: tuple[int, ValuesSource, Any, Any] | None = None
    for source in reversed(sources):  # highest precedence last in the list
        size = len(source.prefix)
        if tuple(path[:size]) != source.prefix:
            continue
        depth, parent, last = _lookup(source.data, tuple(path[size:]))
        if depth == 0:
            continue
        if depth == len(path) - size:
            best = (depth + size, source, parent, last)
            break
        if best is None or depth + size > best[0]:
            best = (depth + size, source, parent, last)
    if best is None:
        return None
    depth, source, parent, last = best
    line, column = _position(parent, last)
    return ValuesPosition(source.file, line, column,
                          key_text(tuple(path[len(source.prefix):depth])))


def merged_view(sources: Sequence[ValuesSource]) -> dict[str, Any]:
    """The merged values as Helm coalesces them (maps merge, anything else replaces)."""
    merged: dict[str, Any] = {}
    for source in sources:
        target: Any = merged
        for part in source.prefix:
            target = target.setdefault(part, {})
        _merge(target, copy.deepcopy(_plain(source.data)))
    return merged


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def add_sentinels(values: dict[str, Any], maps: bool
                  ) -> tuple[dict[str, Any], dict[int, ValuesPath]]:
    """A copy of ``values`` with sentinels, and each sentinel's values key: in string
    leaves (``maps`` False) or as one more key of resources mappings (``maps`` True). Two
    renders, because a mapping's sentinel can switch a template's branch (``if
    .Values.resources``) away from the leaf that feeds the other one."""
    keys: dict[int, ValuesPath] = {}

    def walk(node: Any, path: ValuesPath) -> Any:
        if isinstance(node, dict):
            out = {k: walk(v, (*path, k)) for k, v in node.items()}
            if maps and path and isinstance(path[-1], str) and _MAP_KEYS.search(path[-1]):
                keys[len(keys)] = path
                out[f"ogsentinel-{len(keys) - 1}"] = "x"
            return out
        if isinstance(node, list):
            return [walk(v, (*path, i)) for i, v in enumerate(node)]
        if not maps and (node is None or isinstance(node, str)) and path \
                and isinstance(path[-1], str) and _LEAF_KEYS.search(path[-1]):
            keys[len(keys)] = path
            return f"ogsentinel-{len(keys) - 1}"
        return node

    return walk(values, ()), keys


def path_text(path: Sequence[Any]) -> str:
    """A rendered path as findings write it: ``spec.containers[0].resources``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def sentinel_paths(data: Any) -> Iterator[tuple[str, int]]:
    """(rendered path, sentinel number) for every sentinel in a rendered object."""
    def walk(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[str, int]]:
        if isinstance(node, dict):
            for key, value in node.items():
                found = SENTINEL.fullmatch(key) if isinstance(key, str) else None
                if found:
                    yield path_text(path), int(found.group(1))
                else:
                    yield from walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, (*path, index))
        elif isinstance(node, str):
            for found in SENTINEL.finditer(node):
                yield path_text(path), int(found.group(1))

    yield from walk(data, ())


def chart_sources(chart: str, values: Sequence[str], set_values: Sequence[dict[str, Any]]
                  ) -> list[ValuesSource]:
    """Every values source of a chart directory in Helm's order (lowest precedence first)."""
    sources: list[ValuesSource] = []
    for sub_dir, prefix in _subcharts(chart, ()):
        found = load_values_file(os.path.join(sub_dir, "values.yaml"),
                                 os.path.join(sub_dir, "values.yaml"), prefix)
        if found is not None:
            sources.append(found)
    chart_values = load_values_file(os.path.join(chart, "values.yaml"),
                                    os.path.normpath(os.path.join(chart, "values.yaml")))
    if chart_values is not None:
        sources.append(chart_values)
    for path in values:
        found = load_values_file(path, path)
        if found is not None:
            sources.append(found)
    sources.extend(ValuesSource("--set", item) for item in set_values)
    return sources


def _subcharts(chart: str, prefix: ValuesPath) -> list[tuple[str, ValuesPath]]:
    """Unpacked subchart directories, deepest first, with the key their values sit under
    (the dependency's alias, else its name)."""
    holder = os.path.join(chart, "charts")
    if not os.path.isdir(holder):
        return []
    aliases = _aliases(chart)
    out: list[tuple[str, ValuesPath]] = []
    for entry in sorted(os.listdir(holder)):
        sub = os.path.join(holder, entry)
        name = _chart_name(sub)
        if name is None:
            continue
        key = (*prefix, aliases.get(name, name))
        out.extend(_subcharts(sub, key))
        out.append((os.path.normpath(sub), key))
    return out


def _chart_name(chart: str) -> str | None:
    found = load_values_file(os.path.join(chart, "Chart.yaml"), "Chart.yaml")
    name = found.data.get("name") if found is not None else None
    return name if isinstance(name, str) else None


def _aliases(chart: str) -> dict[str, str]:
    found = load_values_file(os.path.join(chart, "Chart.yaml"), "Chart.yaml")
    deps = found.data.get("dependencies") if found is not None else None
    return {d["name"]: d["alias"] for d in deps or []
            if isinstance(d, dict) and isinstance(d.get("name"), str)
            and isinstance(d.get("alias"), str)}
