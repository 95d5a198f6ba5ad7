"""Report formats. Each module defines ``render(report, context) -> str``.

Formats are plain modules looked up by name (no registration side effects); see
:data:`FORMATS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from oomguard.linter.runner import Report
from oomguard.policies.actions import DENY, severity_action
from oomguard.policies.rule import Finding, Severity

FORMATS = ("text", "json", "sarif", "junit", "github")


@dataclass(frozen=True)
class RenderContext:
    fail_on: Severity
    tool_version: str
    # what admission would do with each finding (policies.actions.ActionResolver); None:
    # the default policy's, deny
    actions: Callable[[Finding], str] | None = None

    def action_of(self, finding: Finding) -> str:
        """deny, warn or audit: what the webhook would do with ``finding``."""
        if self.actions is None:
            return severity_action(finding.severity, DENY)
        return self.actions(finding)

    def shows_action(self, finding: Finding, action: str) -> bool:
        """Whether ``action`` is not what the finding's severity gets under deny (a text
        report names only those)."""
        return action != severity_action(finding.severity, DENY)


class Formatter(Protocol):
    def render(self, report: Report, context: RenderContext) -> str: ...


def formatter(name: str) -> Formatter:
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; choose from {', '.join(FORMATS)}")
    module: Formatter = importlib.import_module(f"oomguard.linter.formats.{name}_format")  # type: ignore[assignment]
    return module
