"""``--format github``: workflow commands that annotate the pull request.

One ``::error``/``::warning``/``::notice`` line per finding (and ``::error`` per input
error), escaped as GitHub's toolkit does: ``%``, CR and LF in the message; additionally
``:`` and ``,`` in property values. Paths are made relative to the working directory,
which is the repository root in a workflow.
"""

from __future__ import annotations

from oomguard.linter.formats import RenderContext
from oomguard.linter.formats.sarif_format import relative_path
from oomguard.linter.runner import Report
from oomguard.policies.rule import Finding, Severity

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _line(command: str, file: str | None, line: int | None, column: int | None, title: str,
          message: str) -> str:
    props = [f"file={_property(relative_path(file))}"] if file else []
    if line:
        props.append(f"line={line}")
    if column:
        props.append(f"col={column}")
    props.append(f"title={_property(title)}")
    return f"::{command} {','.join(props)}::{_data(message)}"


def _values_note(report: Report, finding: Finding) -> str:
    """On a Helm chart: the values key behind the finding, as the text format says it."""
    source = report.helm_sources.get(finding)
    values = getattr(source, "values", None)
    if values is None:
        return ""
    shown = values.file if values.file == "--set" else relative_path(values.file)
    where = shown if values.line is None else f"{shown}:{values.line}"
    return f" (set by {where} {values.key})"


def render(report: Report, context: RenderContext) -> str:
    lines = [_line("error", e.file, e.line, e.column, "oomguard input error", e.message)
             for e in report.errors]
    lines += [_line(COMMANDS[f.severity], f.file, f.line, f.column, f"{f.rule} {f.name}",
                    (f"{f.message} [{f.object}]" if f.object else f.message)
                    + _values_note(report, f))
              for f in report.findings]
    return "\n".join(lines) + ("\n" if lines else "")
