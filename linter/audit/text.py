"""``oomguard audit --format text``: one line per finding under its object, then notices,
errors and a summary line."""

from __future__ import annotations

from oomguard.policies.audit import AuditResult
from oomguard.policies.engine import severity_counts
from oomguard.policies.rule import Finding, ObjectRef


def render(result: AuditResult) -> str:
    lines: list[str] = []
    current: ObjectRef | None = None
    for f in result.findings:
        if f.object != current:
            current = f.object
            lines.append(str(current) if current else "<cluster>")
        lines.append(_finding(f))
    for notice in result.notices:
        lines.append(f"notice: {notice.source}: {notice.message}")
    for error in result.errors:
        lines.append(f"error: {error.source}: {error.message}")
    counts = severity_counts(result.findings)
    lines.append(
        f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info "
        f"in {result.object_count} object(s) and {len(result.nodes)} node(s); "
        f"{result.skipped_owned} object(s) judged through their controller"
        + (f"; {len(result.errors)} API error(s)" if result.errors else ""))
    return "\n".join(lines) + "\n"


def _finding(f: Finding) -> str:
    where = f" ({f.path})" if f.path else ""
    return f"  {f.severity} {f.rule} {f.name}: {f.message}{where}"
