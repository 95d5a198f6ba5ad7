"""Tiny helpers for rule tests: YAML snippet in, (code, path) pairs out.

They lint through the linter's own runner (:func:`oomguard.linter.runner.lint_text`), so a
rule test sees what ``oomguard lint`` prints: list expansion, LimitRange defaults, the
prefilter, suppressions and the cross-object rules, with nothing re-implemented here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oomguard.linter.runner import Report
from oomguard.linter.runner import lint_text as run_lint_text
from oomguard.policies.config import build_policy
from oomguard.policies.rule import Finding


def lint_report(text: str, policy: Mapping[str, Any] | None = None, *, file: str = "test.yaml"
                ) -> Report:
    return run_lint_text(text, build_policy(policy), file)


def lint_text(text: str, policy: Mapping[str, Any] | None = None, *, file: str = "test.yaml"
              ) -> tuple[list[Finding], list[dict[str, Any]]]:
    """Lint a YAML stream with the given policy document: its findings, and the facts of
    each object judged (as JSON output has them: ``{"file", "object", "facts"}``)."""
    report = lint_report(text, policy, file=file)
    assert not report.errors, report.errors
    return report.findings, report.objects


def codes(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


def hits(findings: list[Finding], code: str) -> set[tuple[str, int | None]]:
    """(path, line) of every finding of one rule."""
    return {(f.path, f.line) for f in findings if f.rule == code}


def paths(findings: list[Finding], code: str) -> set[str]:
    return {f.path for f in findings if f.rule == code}
