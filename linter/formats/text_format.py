"""``--format text``: one line per finding, compiler style, then a summary line."""

from __future__ import annotations

from oomguard.linter.formats import RenderContext
from oomguard.linter.runner import Report
from oomguard.policies.engine import severity_counts
from oomguard.policies.rule import Finding


def _where(file: str | None, line: int | None, column: int | None) -> str:
    return f"{file or '<input>'}:{line or 0}:{column or 0}"


def _helm_source(report: Report, finding: Finding) -> str:
    """`` (set by values.yaml:515 resources)``; `` (rendered line)`` where no template line
    is certain."""
    source = report.helm_sources.get(finding)
    if source is None:
        return ""
    notes = [] if source.template else ["rendered line"]
    if source.values is not None:
        notes.append(f"set by {source.values.text()}")
    return f" ({'; '.join(notes)})" if notes else ""


def render(report: Report, context: RenderContext) -> str:
    lines = []
    for error in report.errors:
        lines.append(f"{_where(error.file, error.line, error.column)}: input-error: "
                     f"{error.message}")
    for notice in report.notices:
        lines.append(f"{_where(notice.file, notice.line, notice.column)}: notice: "
                     f"{notice.message}")
    for f in report.findings:
        subject = f" [{f.object}]" if f.object else ""
        action = context.action_of(f)
        shown = f" (action: {action})" if context.shows_action(f, action) else ""
        lines.append(f"{_where(f.file, f.line, f.column)}: {f.severity} {f.rule} {f.name}: "
                     f"{f.message}{subject}{shown}{_helm_source(report, f)}")
    counts = severity_counts(report.findings)
    lines.append(
        f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info "
        f"in {report.object_count} object(s) from {report.files} file(s)"
        + (f"; {len(report.errors)} input error(s)" if report.errors else ""))
    return "\n".join(lines) + "\n"
