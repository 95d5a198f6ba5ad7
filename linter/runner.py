"""Lint files: stream their documents through one :class:`policies.engine.Run`.

Documents are processed one at a time and dropped; only findings, facts and the small
summaries that cross-object rules need are kept. ``jobs > 1`` lints groups of files in
worker processes and merges the results in input order, so the output does not depend on
the number of jobs.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from oomguard.linter.inputs import DEFAULT_MAX_FILE_SIZE, InputError, InputFile, discover, read_text
from oomguard.linter.prefilter import blank_irrelevant
from oomguard.policies.config import Policy
from oomguard.policies.engine import Engine, ObjectResult, Run, excluded_namespace
from oomguard.policies.kinds import HORIZONTAL_POD_AUTOSCALER
from oomguard.policies.rule import Finding
from oomguard.policies.source import iter_documents
from oomguard.policies.workload.limitrange import ContainerDefaults, container_defaults
from oomguard.policies.workload.runmodel import RunModel

LIST_KINDS_SUFFIX = "List"


@dataclass
class FileReport:
    """What linting one file produced (picklable, for worker processes)."""

    findings: list[Finding] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    notices: list[InputError] = field(default_factory=list)
    object_count: int = 0


@dataclass
class Report(FileReport):
    """The whole run: every file's report added up."""

    files: int = 0
    # Helm findings -> their template, rendered and values positions (linter.sourcemap)
    helm_sources: dict[Finding, Any] = field(default_factory=dict)

    def add(self, part: FileReport) -> None:
        self.findings.extend(part.findings)
        self.objects.extend(part.objects)
        self.errors.extend(part.errors)
        self.notices.extend(part.notices)
        self.object_count += part.object_count


def _looks_pod_bearing(obj: Mapping[str, Any]) -> bool:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return False
    template = spec.get("template")
    return "containers" in spec or (isinstance(template, dict) and "spec" in template)


class FileLinter:
    """Lints files into FileReports; one per process."""

    def __init__(self, policy: Policy, limit_ranges: Sequence[ContainerDefaults] = (),
                 input_type: str | None = None, keep_facts: bool = True,
                 parse_all: bool = False, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> None:
        self.parse_all = parse_all
        self.max_file_size = max_file_size
        # Facts are kept only for reports that print them (JSON): memory stays flat otherwise.
        self.keep_facts = keep_facts
        self.policy = policy
        self.engine = Engine(policy)
        self.run = Run(self.engine, limit_ranges)
        self.input_type = input_type
        self.keep_kinds = frozenset(str(k.get("kind")) for k in policy.kinds)

    def lint_file(self, item: InputFile) -> FileReport:
        text, error = read_text(item, self.max_file_size)
        if error is not None:
            return FileReport(errors=[error])
        assert text is not None
        return self.lint_text(item, text)

    def lint_text(self, item: InputFile, text: str) -> FileReport:
        """Lint the text of ``item`` (read already)."""
        report = FileReport()
        if self._lint_node_text(item, text, report):
            return report
        if item.node_candidate:
            return report  # a *.conf/*.env file that is no node configuration: not ours
        skipped = 0
        if not self.parse_all:
            text, skipped = blank_irrelevant(text, self.keep_kinds)
        seen_document = skipped > 0
        for doc in iter_documents(text):
            for problem in doc.problems:
                # Duplicate keys still yield the document (last value wins): a notice.
                target = report.notices if doc.data is not None else report.errors
                target.append(InputError(item.name, problem.message, problem.line,
                                         problem.column))
            if doc.data is None:
                continue
            seen_document = True
            self._lint_document(doc.data, doc.line, item, text, report)
        if not seen_document and not report.errors:
            self._not_ours(item, report, "the file holds no YAML or JSON document", 1, 1)
        return report

    @staticmethod
    def _not_ours(item: InputFile, report: FileReport, message: str, line: int | None,
                  column: int | None) -> None:
        """Input that is no Kubernetes object: an error when the file was named, a notice
        when a directory walk found it (repositories hold other YAML too)."""
        target = report.errors if item.explicit else report.notices
        suffix = "" if item.explicit else "; skipped"
        target.append(InputError(item.name, message + suffix, line, column))

    def _lint_node_text(self, item: InputFile, text: str, report: FileReport) -> bool:
        forced = self.input_type
        is_manifest_name = item.name.lower().endswith(
            (".yaml", ".yml", ".json")) and not item.node_candidate
        if forced in (None, "manifest") and is_manifest_name:
            return False
        if forced in (None, "manifest") and item.path == "-":
            return False
        from oomguard.policies import node

        outcome = node.subjects_from_text(text, item.name,
                                          None if forced == "manifest" else forced)
        if outcome is None:
            return False
        subjects, problems = outcome
        for problem in problems:
            report.errors.append(InputError(item.name, problem.message, problem.line,
                                            problem.column))
        if subjects:
            result = self.engine.evaluate_node_subjects(subjects, self.engine.context(),
                                                        item.name, subjects[0].ref)
            self._record(result, report)
        return True

    def _lint_document(self, data: Any, line: int, item: InputFile, text: str,
                       report: FileReport) -> None:
        name = item.name
        if not isinstance(data, dict):
            self._not_ours(item, report, f"the document is a {type(data).__name__}, not a "
                           "Kubernetes object (a mapping with apiVersion and kind)", line, 1)
            return
        kind = data.get("kind")
        pos = getattr(data, "pos", (line, 1))
        if not kind or not data.get("apiVersion"):
            missing = "kind" if not kind else "apiVersion"
            self._not_ours(item, report, f"the document has no {missing}: not a Kubernetes "
                           "object", pos[0], pos[1])
            return
        for key in ("kind", "apiVersion"):  # the engine looks kinds up by their text
            value = data[key]
            if not isinstance(value, str):
                at = getattr(data, "key_pos", {}).get(key, pos)
                self._not_ours(item, report, f"the document's {key} is {_json_type(value)}, "
                               "not a string: not a Kubernetes object", at[0], at[1])
                return
        items = data.get("items")
        if isinstance(kind, str) and kind.endswith(LIST_KINDS_SUFFIX) and isinstance(items, list):
            for entry in items:
                self._lint_document(entry, getattr(entry, "pos", (line, 1))[0], item, text,
                                    report)
            return
        if "$patch" in data:
            report.notices.append(InputError(name, f"{kind} is a kustomize patch "
                                             "($patch); not linted", pos[0], pos[1]))
            return
        if excluded_namespace(data, self.policy):
            return
        try:
            result = self.run.add(data, name, text)
        except Exception as exc:  # noqa: BLE001 - one bad object must not stop the run
            pos = getattr(data, "pos", (line, 1))
            report.errors.append(InputError(
                name, f"internal error while linting {kind}: {type(exc).__name__}: {exc}",
                pos[0], pos[1]))
            return
        if result is None:
            if not self.engine.judges(data) and _looks_pod_bearing(data) \
                    and kind != HORIZONTAL_POD_AUTOSCALER:
                pos = getattr(data, "pos", (line, 1))
                report.notices.append(InputError(
                    name, f"{data.get('apiVersion')}/{kind} has a pod template but is not a "
                          "kind oomguard knows; map it under `kinds:` in the policy to lint it",
                    pos[0], pos[1]))
            return
        self._record(result, report)

    def _record(self, result: ObjectResult, report: FileReport) -> None:
        for problem in result.problems:
            report.errors.append(InputError(result.file or "", problem.message, problem.line,
                                            problem.column))
        report.findings.extend(result.findings)
        if result.has_facts:  # the facts themselves are computed only for JSON output
            report.objects.append(result.facts_json(self.keep_facts))
        report.object_count += 1


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a sequence"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, (int, float)) else f"a {type(value).__name__}"


def prescan_limit_ranges(files: Sequence[InputFile], max_file_size: int = DEFAULT_MAX_FILE_SIZE
                         ) -> list[ContainerDefaults]:
    """LimitRanges anywhere in the input default containers everywhere in it, so they are
    collected before linting starts (a cheap byte search picks the files to parse). Only
    regular files: a pipe read here would be empty when it is linted."""
    found: list[ContainerDefaults] = []
    for item in files:
        if item.path == "-" or item.size > max_file_size:
            continue
        try:
            with open(item.path, "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode) or \
                        b"LimitRange" not in handle.read():
                    continue
        except OSError:
            continue
        text, error = read_text(item, max_file_size)
        if text is None or error is not None:
            continue
        found.extend(limit_ranges_in(text))
    return found


def limit_ranges_in(text: str) -> list[ContainerDefaults]:
    """The container defaults of every LimitRange in a YAML stream (v1 Lists included)."""
    found: list[ContainerDefaults] = []
    for doc in iter_documents(text):
        data = doc.data
        candidates: list[Any] = [data]
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            candidates = data["items"]
        for obj in candidates:
            if isinstance(obj, dict):
                defaults = container_defaults(obj)
                if defaults is not None:
                    found.append(defaults)
    return found


# -- worker processes ------------------------------------------------------------------------
_WORKER: FileLinter | None = None


def _init_worker(policy: Policy, limit_ranges: list[ContainerDefaults],
                 input_type: str | None, keep_facts: bool, parse_all: bool,
                 max_file_size: int) -> None:
    global _WORKER
    _WORKER = FileLinter(policy, limit_ranges, input_type, keep_facts, parse_all, max_file_size)


def _lint_chunk(items: list[InputFile]) -> tuple[list[FileReport], RunModel]:
    assert _WORKER is not None
    reports = [_WORKER.lint_file(item) for item in items]
    model = _WORKER.run.model
    _WORKER.run.model = RunModel()
    return reports, model


def _chunks(files: Sequence[InputFile], jobs: int) -> list[list[InputFile]]:
    """Contiguous groups of about equal byte size, several per job for balance."""
    sizes = [item.size for item in files]  # as discovered: no second stat that can fail
    target = max(1, sum(sizes) // (jobs * 4) or 1)
    chunks: list[list[InputFile]] = [[]]
    acc = 0
    for item, size in zip(files, sizes, strict=True):
        chunks[-1].append(item)
        acc += size
        if acc >= target:
            chunks.append([])
            acc = 0
    return [c for c in chunks if c]


PARALLEL_MIN_BYTES = 16 << 20  # below this, starting processes costs more than it saves (measured)


def lint_paths(paths: Sequence[str], policy: Policy, *, input_type: str | None = None,
               jobs: int = 1, keep_facts: bool = True, parse_all: bool = False,
               names: Mapping[str, str] | None = None, strict_inputs: bool = True,
               max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> Report:
    """Lint ``paths``; ``names`` maps a path to the name to report it under (rendered
    Helm templates are linted from a temporary folder but named after their template)."""
    files, errors = discover(paths, policy.exclude_paths, names or {})
    if not strict_inputs:
        files = [dataclasses.replace(f, explicit=False) for f in files]
    report = Report(errors=list(errors), files=len(files))
    limit_ranges = prescan_limit_ranges(files, max_file_size)
    linter = FileLinter(policy, limit_ranges, input_type, keep_facts, parse_all, max_file_size)
    use_jobs = jobs > 1 and len(files) > 1 and "-" not in paths and \
        sum(f.size for f in files) >= PARALLEL_MIN_BYTES
    if use_jobs:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                                 initargs=(policy, limit_ranges, input_type, keep_facts,
                                           parse_all, max_file_size)) as pool:
            for reports, model in pool.map(_lint_chunk, _chunks(files, jobs)):
                for part in reports:
                    report.add(part)
                linter.run.merge(model)
    else:
        for item in files:
            report.add(linter.lint_file(item))
    return _finished(report, linter)


def lint_text(text: str, policy: Policy, name: str = "input.yaml", *,
              input_type: str | None = None, parse_all: bool = False) -> Report:
    """Lint one text as :func:`lint_paths` lints a file named ``name`` (its LimitRanges
    default its containers; cross-object rules see it whole). For tests and embedders."""
    linter = FileLinter(policy, limit_ranges_in(text), input_type, keep_facts=True,
                        parse_all=parse_all)
    report = Report(files=1)
    report.add(linter.lint_text(InputFile(name, name), text))
    return _finished(report, linter)


def _finished(report: Report, linter: FileLinter) -> Report:
    """The run's cross-object findings added, every finding in file and line order."""
    report.findings.extend(linter.run.finish())
    report.findings.sort(key=Finding.sort_key)
    return report
