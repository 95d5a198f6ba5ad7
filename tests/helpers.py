"""Tiny helpers for rule tests: YAML snippet in, (code, path) pairs out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oomguard.policies.config import build_policy
from oomguard.policies.engine import Engine, ObjectResult, Run
from oomguard.policies.rule import Finding
from oomguard.policies.source import iter_documents
from oomguard.policies.workload.limitrange import container_defaults


def lint_text(text: str, policy: Mapping[str, Any] | None = None, *, file: str = "test.yaml"
              ) -> tuple[list[Finding], list[ObjectResult]]:
    """Lint a YAML stream with the given policy document; return findings and results."""
    engine = Engine(build_policy(policy))
    docs: list[Any] = []
    for doc in iter_documents(text):
        data = doc.data
        if isinstance(data, Mapping) and str(data.get("kind", "")).endswith("List") \
                and isinstance(data.get("items"), list):
            docs.extend(data["items"])  # as linter.runner expands v1 Lists
        elif data is not None:
            docs.append(data)
    limit_ranges = [d for d in (container_defaults(o) for o in docs if isinstance(o, Mapping))
                    if d is not None]
    run = Run(engine, limit_ranges)
    findings: list[Finding] = []
    results: list[ObjectResult] = []
    for obj in docs:
        result = run.add(obj, file, text)
        if result is not None:
            results.append(result)
            findings.extend(result.findings)
    findings.extend(run.finish())
    return findings, results


def codes(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


def hits(findings: list[Finding], code: str) -> set[tuple[str, int | None]]:
    """(path, line) of every finding of one rule."""
    return {(f.path, f.line) for f in findings if f.rule == code}


def paths(findings: list[Finding], code: str) -> set[str]:
    return {f.path for f in findings if f.rule == code}
