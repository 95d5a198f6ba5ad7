"""``--format json``: the stable machine-readable report."""

from __future__ import annotations

import json
from typing import Any

from oomguard.linter.formats import RenderContext
from oomguard.linter.runner import Report
from oomguard.policies.engine import severity_counts
from oomguard.policies.rule import Finding


def as_dict(report: Report) -> dict[str, Any]:
    summary: dict[str, Any] = severity_counts(report.findings)
    summary.update(files=report.files, objects=report.object_count)
    return {
        "findings": [_finding(f, report) for f in report.findings],
        "objects": report.objects,
        "errors": [e.to_json() for e in report.errors],
        "notices": [n.to_json() for n in report.notices],
        "summary": summary,
    }


def _finding(finding: Finding, report: Report) -> dict[str, Any]:
    """A finding; on a rendered Helm chart also ``position`` (template or rendered),
    ``rendered`` (file, line, column in Helm's output) and ``values`` (the key to edit)."""
    out = finding.to_json()
    source = report.helm_sources.get(finding)
    if source is not None:
        out.update(source.to_json())
    return out


def render(report: Report, context: RenderContext) -> str:
    return json.dumps(as_dict(report), indent=2, sort_keys=False) + "\n"
