"""Snapshots from files: kubectl dumps (YAML or JSON, Lists or single objects) and kernel
logs, recognised by their content, not their names."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from oomguard.linter.inputs import DEFAULT_MAX_FILE_SIZE, STDIN, InputFile, read_text
from oomguard.policies.incidents.kernel import looks_like_kernel_log, parse_kernel_log
from oomguard.policies.incidents.model import Problem
from oomguard.policies.incidents.snapshot import Snapshot

OWNER_KINDS = frozenset({"ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job",
                         "CronJob", "ReplicationController"})
READ_KINDS = OWNER_KINDS | {"Pod", "Event", "Node", "LimitRange", "KubeletConfiguration"}
_YAML_ITEM = re.compile(r"^- ", re.M)
_YEAR = re.compile(r"\b(20\d\d)-[01]\d-[0-3]\dT\d\d:\d\d")


class _Collector:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snap = snapshot
        self.nodes: list[Mapping[str, Any]] = []
        self.limit_ranges: list[Mapping[str, Any]] = []
        self.owners: list[Mapping[str, Any]] = []
        self.events: list[tuple[Mapping[str, Any], str]] = []
        self.pods: list[tuple[Mapping[str, Any], str]] = []

    def add(self, obj: Any, source: str, line: int | None, skipped: dict[str, int]) -> None:
        if not isinstance(obj, dict):
            self.snap.notices.append(Problem(source, "an item that is not an object: skipped",
                                             line))
            return
        kind = obj.get("kind")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"),
                                                                           list):
            for item in obj["items"]:
                pos = getattr(item, "pos", None)
                self.add(item, source, pos[0] if pos else line, skipped)
            return
        if kind == "Pod":
            self.pods.append((obj, source))
        elif kind == "Event":
            self.events.append((obj, source))
        elif kind == "Node":
            self.nodes.append(obj)
        elif kind == "LimitRange":
            self.limit_ranges.append(obj)
        elif kind in OWNER_KINDS:
            self.owners.append(obj)
        elif kind == "KubeletConfiguration":
            node = _node_of_config(obj)
            if node:
                self.snap.kubelet_configs[node] = obj
            else:
                self.snap.notices.append(Problem(
                    source, "a KubeletConfiguration without the annotation "
                            "oomguard.io/node naming its node: not tied to a node", line))
        else:
            label = kind if isinstance(kind, str) and kind else "(no kind)"
            skipped[label] = skipped.get(label, 0) + 1

    def finish(self) -> Snapshot:
        self.snap.nodes, self.snap.limit_ranges = self.nodes, self.limit_ranges
        self.snap.owners, self.snap.events, self.snap.pods = self.owners, self.events, self.pods
        return self.snap


def _node_of_config(obj: Mapping[str, Any]) -> str | None:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    annotations = (meta or {}).get("annotations")
    value = annotations.get("oomguard.io/node") if isinstance(annotations, dict) else None
    return value if isinstance(value, str) and value else None


def _walk(paths: list[str], snap: Snapshot) -> Iterator[InputFile]:
    for path in paths:
        if path == STDIN:
            yield InputFile(STDIN, "<stdin>")
            continue
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path, onerror=lambda e: snap.errors.append(
                    Problem(str(e.filename), f"cannot read: {e.strerror}"))):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    full = os.path.join(root, name)
                    if not name.startswith(".") and os.path.isfile(full):
                        yield InputFile(full, full, explicit=False)
            continue
        if not os.path.exists(path):
            snap.errors.append(Problem(path, "no such file or directory"))
            continue
        yield InputFile(path, path)


def load_files(paths: list[str], *, max_file_size: int = DEFAULT_MAX_FILE_SIZE,
               year: int | None = None) -> Snapshot:
    snap = Snapshot(source="files")
    collector = _Collector(snap)
    kernel_texts: list[tuple[str, InputFile]] = []
    newest_year: int | None = None
    for item in _walk(paths, snap):
        text, error = read_text(item, max_file_size)
        if error is not None:
            target = snap.errors if item.explicit else snap.notices
            target.append(Problem(error.file, error.message.replace("not linted", "not read"),
                                  error.line, error.column))
            continue
        assert text is not None
        if looks_like_kernel_log(text):
            kernel_texts.append((text, item))
            continue
        _load_text(text, item, collector)
        if year is None and kernel_texts is not None:
            found = [int(y) for y in _YEAR.findall(text[-65536:]) + _YEAR.findall(text[:65536])]
            if found:
                newest_year = max([newest_year or 0, *found])
    for text, item in kernel_texts:
        # journalctl's short format has no year: the dump's newest year, else this year
        log = parse_kernel_log(text, item.name, year=year or newest_year)
        snap.kernel_logs.append((log, _node_hint(item.name)))
        if not log.kills:
            snap.notices.append(Problem(item.name, "kernel log without OOM kills", 1, 1))
    return collector.finish()


def _load_text(text: str, item: InputFile, collector: _Collector) -> None:
    snap = collector.snap
    stripped = text.lstrip()
    if not stripped:
        snap.notices.append(Problem(item.name, "empty file: skipped", 1, 1))
        return
    skipped: dict[str, int] = {}
    if stripped[0] in "{[":
        _load_json(text, item, collector, skipped)
    else:
        _load_yaml(text, item, collector, skipped)
    if skipped:
        kinds = ", ".join(f"{k} ({n})" for k, n in sorted(skipped.items()))
        snap.notices.append(Problem(item.name, f"objects of kinds diagnose does not read: "
                                               f"{kinds}; skipped"))


def _node_hint(name: str) -> str | None:
    """``w-8xk2p.dmesg``, ``w-8xk2p.log`` -> ``w-8xk2p`` (a dmesg carries no hostname)."""
    if name == "<stdin>":
        return None
    return Path(name).name.split(".", 1)[0] or None


def _load_json(text: str, item: InputFile, collector: _Collector,
               skipped: dict[str, int]) -> None:
    import orjson

    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        collector.snap.errors.append(Problem(item.name, f"invalid JSON: {exc.msg}",
                                             exc.lineno, exc.colno))
        salvaged = _salvage_json(text)
        if salvaged:
            collector.snap.notices.append(Problem(
                item.name, f"{len(salvaged)} complete items before the error were read"))
            for obj in salvaged:
                collector.add(obj, item.name, None, skipped)
        return
    if isinstance(data, list):
        for obj in data:
            collector.add(obj, item.name, None, skipped)
    else:
        collector.add(data, item.name, None, skipped)


def _salvage_json(text: str) -> list[Any]:
    """The complete objects of a cut List's ``items`` array."""
    start = re.search(r'"items"\s*:\s*\[', text)
    if start is None:
        return []
    decoder = json.JSONDecoder()
    pos = start.end()
    out: list[Any] = []
    while True:
        match = re.compile(r"[\s,]*").match(text, pos)
        pos = match.end() if match else pos
        if pos >= len(text) or text[pos] == "]":
            return out
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except ValueError:
            return out
        out.append(obj)


def _load_yaml(text: str, item: InputFile, collector: _Collector,
               skipped: dict[str, int]) -> None:
    from oomguard.policies.source import iter_documents

    cut_at: int | None = None
    for doc in iter_documents(text):
        for problem in doc.problems:
            target = collector.snap.notices if doc.data is not None else collector.snap.errors
            target.append(Problem(item.name, problem.message, problem.line, problem.column))
            if doc.data is None and cut_at is None:
                cut_at = problem.line
        if doc.data is not None:
            collector.add(doc.data, item.name, doc.line, skipped)
    if cut_at is not None:
        _salvage_yaml(text, item, collector, skipped, cut_at)


def _salvage_yaml(text: str, item: InputFile, collector: _Collector,
                  skipped: dict[str, int], bad_line: int) -> None:
    """A kubectl List cut in the middle (``items:`` then ``- `` at column 0 per item): parse
    again without the item the problem is in, and keep the items before it."""
    from oomguard.policies.source import iter_documents

    if not re.search(r"^items:\s*$", text, re.M):
        return
    starts = [m.start() for m in _YAML_ITEM.finditer(text)]
    line_starts = [text.count("\n", 0, s) + 1 for s in starts]
    before = [s for s, ln in zip(starts, line_starts, strict=True) if ln <= bad_line]
    if len(before) < 2:
        return
    head = text[:before[-1]]
    kept = 0
    for doc in iter_documents(head):
        if doc.data is None or not isinstance(doc.data, dict):
            continue
        items = doc.data.get("items")  # kubectl prints "kind: List" after the items: cut
        for obj in items if isinstance(items, list) else ():
            pos = getattr(obj, "pos", None)
            collector.add(obj, item.name, pos[0] if pos else doc.line, skipped)
            kept += 1
    if kept:
        collector.snap.notices.append(Problem(
            item.name, f"{kept} complete items before the problem were read", bad_line))
