"""``--format json``: the stable machine-readable report."""

from __future__ import annotations

import json
from typing import Any

from oomguard.linter.formats import RenderContext
from oomguard.linter.runner import Report
from oomguard.policies.engine import severity_counts
from oomguard.policies.rule import Finding, Severity

_DEFAULT = RenderContext(Severity.ERROR, "")


def finding_json(finding: Finding, context: RenderContext | None = None,
                 report: Report | None = None) -> dict[str, Any]:
    """One finding, with ``action``: what admission would do with it (deny, warn or audit:
    policies/actions.py), so a rollout can be previewed before a namespace is flipped; on a
    rendered Helm chart also ``position`` (template or rendered), ``rendered`` (file, line,
    column in Helm's output) and ``values`` (the key to edit)."""
    out = finding.to_json()
    if report is not None:
        source = report.helm_sources.get(finding)
        if source is not None:
            out.update(source.to_json())
    out["action"] = (context or _DEFAULT).action_of(finding)
    return out


def as_dict(report: Report, context: RenderContext | None = None) -> dict[str, Any]:
    summary: dict[str, Any] = severity_counts(report.findings)
    summary.update(files=report.files, objects=report.object_count)
    return {
        "findings": [finding_json(f, context, report) for f in report.findings],
        "objects": report.objects,
        "errors": [e.to_json() for e in report.errors],
        "notices": [n.to_json() for n in report.notices],
        "summary": summary,
    }


def render(report: Report, context: RenderContext) -> str:
    return json.dumps(as_dict(report, context), indent=2, sort_keys=False) + "\n"
