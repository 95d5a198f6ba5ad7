"""``--format sarif``: SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps)."""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import quote

from oomguard.linter.formats import RenderContext
from oomguard.linter.runner import Report
from oomguard.policies.docs import rule_markdown
from oomguard.policies.registry import catalog
from oomguard.policies.rule import Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/oomguard/oomguard"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def relative_path(path: str) -> str:
    """A file name as code scanning and annotations want it: relative to the working
    directory (the repository root in CI) when inside it, with forward slashes."""
    if os.path.isabs(path):
        try:
            inside = os.path.relpath(path)
        except ValueError:  # another drive on Windows
            inside = path
        if not inside.startswith(".." + os.sep) and inside != "..":
            path = inside
    path = path.replace(os.sep, "/")
    return path[2:] if path.startswith("./") else path


def _uri(path: str | None) -> str:
    """A relative URI reference (RFC 3986): forward slashes, unsafe characters escaped."""
    path = relative_path(path or "<input>")
    if re.match(r"^[A-Za-z]:/", path):  # a Windows drive path outside the working directory
        return "file:///" + quote(path, safe="/:")
    if path.startswith("/"):
        return "file://" + quote(path, safe="/")
    # keep RFC 3986 sub-delimiters; ':' is escaped so "a:b.yaml" cannot read as a scheme
    return quote(path, safe="/!$&'()*+,;=@")


def _rules() -> list[dict[str, Any]]:
    out = []
    for rule in catalog():
        out.append({
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.name.replace("-", " ")},
            "fullDescription": {"text": rule.doc.what},
            "help": {"text": f"{rule.doc.what}\n\n{rule.doc.why}",
                     "markdown": rule_markdown(rule, heading="###")},
            "helpUri": f"{INFORMATION_URI}/blob/main/docs/rules.md",
            "defaultConfiguration": {"level": LEVELS[rule.severity],
                                     "enabled": rule.enabled},
            "properties": {"tags": ["memory", "kubernetes", rule.scope.value]},
        })
    return out


def _location(index: int, file: str, line: int | None, column: int | None, text: str
              ) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": max(1, line or 1)}
    if column:
        region["startColumn"] = column
    return {"id": index, "physicalLocation": {"artifactLocation": {"uri": _uri(file)},
                                              "region": region},
            "message": {"text": text}}


def _related(source: Any) -> list[dict[str, Any]]:
    """A Helm finding's values key (the value to edit) and the rendered line (what Helm
    printed); ``locations`` holds the template line."""
    related = []
    values = source.values
    if values is not None and values.file != "--set":
        related.append(_location(1, values.file, values.line, values.column,
                                 f"set by values key {values.key}"))
    elif values is not None:
        related.append({"id": 1, "message": {"text": f"set by --set {values.key}"}})
    rendered = source.rendered
    related.append(_location(2, rendered.file, rendered.line, rendered.column,
                             "line in the rendered manifest"
                             + ("" if source.template else " (no template line is certain)")))
    return related


def as_dict(report: Report, context: RenderContext) -> dict[str, Any]:
    rules = _rules()
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for f in report.findings:
        region: dict[str, Any] = {"startLine": max(1, f.line or 1)}
        if f.column:
            region["startColumn"] = f.column
        result: dict[str, Any] = {
            "ruleId": f.rule, "ruleIndex": index[f.rule], "level": LEVELS[f.severity],
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(f.file)},
                                                "region": region},
                           "logicalLocations": [{"name": str(f.object),
                                                 "fullyQualifiedName": f.path,
                                                 "kind": "object"}] if f.object else []}],
            "partialFingerprints": {"oomguard/v1": f"{f.rule}:{f.object}:{f.path}"},
        }
        source = report.helm_sources.get(f)
        if source is not None:
            result["relatedLocations"] = _related(source)
        results.append(result)
    notifications = [{
        "level": "error", "message": {"text": e.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": _uri(e.file)},
            "region": {"startLine": max(1, e.line or 1)}}}],
    } for e in report.errors]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "oomguard", "version": context.tool_version,
                                "semanticVersion": context.tool_version,
                                "informationUri": INFORMATION_URI, "rules": rules}},
            "columnKind": "unicodeCodePoints",
            "invocations": [{"executionSuccessful": not report.errors,
                             "toolExecutionNotifications": notifications}],
            "results": results,
        }],
    }


def render(report: Report, context: RenderContext) -> str:
    return json.dumps(as_dict(report, context), indent=2) + "\n"
