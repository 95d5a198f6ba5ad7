"""Report formats. Each module defines ``render(report, context) -> str``.

Formats are plain modules looked up by name (no registration side effects); see
:data:`FORMATS`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol

from oomguard.linter.runner import Report
from oomguard.policies.rule import Severity

FORMATS = ("text", "json", "sarif", "junit", "github")


@dataclass(frozen=True)
class RenderContext:
    fail_on: Severity
    tool_version: str


class Formatter(Protocol):
    def render(self, report: Report, context: RenderContext) -> str: ...


def formatter(name: str) -> Formatter:
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; choose from {', '.join(FORMATS)}")
    module: Formatter = importlib.import_module(f"oomguard.linter.formats.{name}_format")  # type: ignore[assignment]
    return module
