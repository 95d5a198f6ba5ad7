"""An audit result as the lint formatters' :class:`~oomguard.linter.runner.Report` (json,
sarif, junit and github print it unchanged): findings with ``file`` null and the object
reference set; API errors and notices with the request or object as their ``file``."""

from __future__ import annotations

from oomguard.linter.inputs import InputError
from oomguard.linter.runner import Report
from oomguard.policies.audit import AuditResult


def as_lint_report(result: AuditResult) -> Report:
    return Report(
        findings=list(result.findings), objects=list(result.facts),
        errors=[InputError(p.source, p.message, None, None) for p in result.errors],
        notices=[InputError(p.source, p.message, None, None) for p in result.notices],
        object_count=result.object_count, files=0)
