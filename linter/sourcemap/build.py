"""Build a chart's source map when it has findings, and move its findings.

Only charts with findings pay for it: their directory is copied with annotated templates
and rendered once (template lines), the chart itself once more with sentinel values
(values keys). Neither render is linted; any failure of them leaves the findings at their
rendered positions.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from oomguard.linter.sourcemap.annotate import annotate_scanned, scan, unsafe_closure
from oomguard.linter.sourcemap.lines import align
from oomguard.linter.sourcemap.locate import ChartSourceMap, FindingSource, TemplateFile, locate
from oomguard.linter.sourcemap.values import (
    ValuesPath,
    add_sentinels,
    chart_sources,
    merged_view,
    path_text,
    sentinel_paths,
)
from oomguard.policies.rule import Finding
from oomguard.policies.source import iter_documents

# render(chart directory, values files, --set items, validate schema) -> {template: text}
Render = Callable[[str, Sequence[str], Sequence[str], bool], dict[str, str]]


@dataclass
class _Chart:
    chart: str
    plain: dict[str, str]  # rendered file (as findings name it) -> linted text
    render: Render
    display: Callable[[str, str], str]  # (chart, Helm template name) -> rendered file


class HelmSources:
    """The rendered charts of one run; :meth:`locate` moves the findings on them."""

    def __init__(self, values: Sequence[str], set_values: Sequence[str],
                 parse_set: Callable[[str], dict[str, Any]] | None) -> None:
        self.values = list(values)
        self.set_values = list(set_values)
        self.parse_set = parse_set
        self.charts: list[_Chart] = []

    def add(self, chart: str, plain: dict[str, str], render: Render,
            display: Callable[[str, str], str]) -> None:
        self.charts.append(_Chart(chart, plain, render, display))

    def locate(self, findings: Sequence[Finding]
               ) -> tuple[list[Finding], dict[Finding, FindingSource]]:
        by_file = {name: chart for chart in self.charts for name in chart.plain}
        wanted: dict[int, list[Finding]] = {}
        rest: list[Finding] = []
        for finding in findings:
            chart = by_file.get(finding.file or "")
            if chart is None:
                rest.append(finding)
            else:
                wanted.setdefault(id(chart), []).append(finding)
        sources: dict[Finding, FindingSource] = {}
        for chart in self.charts:
            mine = wanted.get(id(chart))
            if not mine:
                continue
            try:
                source_map = self._source_map(chart, mine)
            except Exception:  # noqa: BLE001 - locating must never lose the findings
                source_map = ChartSourceMap()
            moved, found = locate(mine, source_map)
            rest.extend(moved)
            sources.update(found)
        rest.sort(key=Finding.sort_key)
        return rest, sources

    def _source_map(self, chart: _Chart, findings: Sequence[Finding]) -> ChartSourceMap:
        source_map = ChartSourceMap()
        if not os.path.isdir(chart.chart):
            return source_map  # an archive: rendered positions only
        workdir = tempfile.mkdtemp(prefix="oomguard-srcmap-")
        try:
            copy = self._annotated_copy(chart, source_map, workdir)
            overlays = self._sentinel_overlays(chart, source_map, workdir)
            jobs: list[tuple[str, Sequence[str], Sequence[str], bool]] = []
            if copy is not None:
                jobs.append((copy, self.values, self.set_values, True))
            jobs += [(chart.chart, [*self.values, path], (), False) for _, path, _ in overlays]
            results = _render_all(chart.render, jobs)
            if copy is not None:
                self._read_markers(chart, source_map, results.pop(0))
            for (maps, _, keys), rendered in zip(overlays, results, strict=True):
                found = source_map.map_sentinels if maps else source_map.leaf_sentinels
                _read_sentinels(chart, findings, rendered, keys, found)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        for shown in {f.file for f in findings}:
            for doc in iter_documents(chart.plain.get(shown or "", "")):
                key = _object_key(shown or "", doc.data)
                if key is not None:
                    source_map.plain_paths[key] = set(_all_paths(doc.data))
        return source_map

    def _annotated_copy(self, chart: _Chart, source_map: ChartSourceMap, workdir: str
                        ) -> str | None:
        """A copy of the chart with markers in its (and its subcharts') templates."""
        copy = os.path.join(workdir, "chart")
        try:
            shutil.copytree(chart.chart, copy, ignore=shutil.ignore_patterns(".git"),
                            copy_function=_link_or_copy)
        except (OSError, shutil.Error):
            return None
        scanned, unsafe_names, unsafe_files = [], set(), set()
        for root in _chart_roots(copy):
            for folder, _, names in os.walk(os.path.join(root, "templates")):
                for name in sorted(names):
                    path = os.path.join(folder, name)
                    try:
                        with open(path, encoding="utf-8", newline="") as handle:
                            text = handle.read()
                    except (OSError, UnicodeDecodeError):
                        continue
                    template, names_, files_ = scan(text, os.path.relpath(path, copy))
                    scanned.append(template)
                    unsafe_names |= names_
                    unsafe_files |= files_
        unsafe = unsafe_closure(scanned, unsafe_names, unsafe_files)
        for template in scanned:
            marked, lines = annotate_scanned(template, len(source_map.files), unsafe)
            source_map.files.append(TemplateFile(
                os.path.normpath(os.path.join(chart.chart, template.name)),
                template.text.split("\n"), lines.literal))
            target = os.path.join(copy, template.name)
            os.unlink(target)  # a hard link to the chart's own file: never write through it
            with open(target, "w", encoding="utf-8", newline="") as handle:
                handle.write(marked)
        return copy

    @staticmethod
    def _read_markers(chart: _Chart, source_map: ChartSourceMap,
                      annotated: dict[str, str] | None) -> None:
        for template, text in (annotated or {}).items():
            shown = chart.display(chart.chart, template)
            plain = chart.plain.get(shown)
            if plain is not None:
                source_map.rendered[shown] = align(plain, text)

    def _sentinel_overlays(self, chart: _Chart, source_map: ChartSourceMap, workdir: str
                           ) -> list[tuple[bool, str, dict[int, ValuesPath]]]:
        """Values files with sentinels in string leaves, and in resources mappings."""
        set_dicts = []
        if self.parse_set is not None:
            for item in self.set_values:
                try:
                    set_dicts.append(self.parse_set(item))
                except Exception:  # noqa: BLE001 - Helm itself accepted it; skip here
                    continue
        source_map.sources = chart_sources(chart.chart, self.values, set_dicts)
        merged = merged_view(source_map.sources)
        overlays = []
        for maps in (False, True):
            with_sentinels, keys = add_sentinels(merged, maps)
            if keys:
                path = os.path.join(workdir, f"sentinels-{int(maps)}.yaml")
                with open(path, "w", encoding="utf-8") as handle:
                    json.dump(with_sentinels, handle)  # JSON is YAML
                overlays.append((maps, path, keys))
        return overlays


def _render_all(render: Render, jobs: list[tuple[str, Sequence[str], Sequence[str], bool]]
                ) -> list[dict[str, str] | None]:
    """The renders at once (Helm runs in Go, outside the GIL, or in a helm process); a
    render that fails is None: its positions or values keys stay unknown."""
    def one(job: tuple[str, Sequence[str], Sequence[str], bool]) -> dict[str, str] | None:
        try:
            return render(*job)
        except Exception:  # noqa: BLE001 - a marker or sentinel upset the chart
            return None

    if len(jobs) <= 1:
        return [one(job) for job in jobs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(one, jobs))


def _read_sentinels(chart: _Chart, findings: Sequence[Finding],
                    rendered: dict[str, str] | None, keys: dict[int, ValuesPath],
                    found: dict[tuple[str, str, str], list[tuple[str, ValuesPath]]]) -> None:
    files = {f.file for f in findings}
    for template, text in (rendered or {}).items():
        shown = chart.display(chart.chart, template)
        if shown not in files:
            continue
        for doc in iter_documents(text):
            key = _object_key(shown, doc.data)
            if key is not None:
                found.setdefault(key, []).extend(
                    (path, keys[n]) for path, n in sentinel_paths(doc.data) if n in keys)


def _link_or_copy(source: str, target: str) -> None:
    """The copy is read by Helm only (templates are replaced, never written through)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _object_key(shown: str, data: Any) -> tuple[str, str, str] | None:
    if not isinstance(data, dict):
        return None
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return shown, str(data.get("kind")), str(name)


def _all_paths(data: Any, path: tuple[Any, ...] = ()) -> list[str]:
    out = [path_text(path)]
    if isinstance(data, dict):
        for key, value in data.items():
            out.extend(_all_paths(value, (*path, key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out.extend(_all_paths(value, (*path, index)))
    return out


def _chart_roots(chart: str) -> list[str]:
    """The chart and its unpacked subcharts (charts/<sub>/, nested)."""
    roots = [chart]
    holder = os.path.join(chart, "charts")
    if os.path.isdir(holder):
        for entry in sorted(os.listdir(holder)):
            sub = os.path.join(holder, entry)
            if os.path.isfile(os.path.join(sub, "Chart.yaml")):
                roots.extend(_chart_roots(sub))
    return roots
