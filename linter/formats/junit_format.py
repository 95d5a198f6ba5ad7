"""``--format junit``: JUnit XML, one test case per object, a failure per finding."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from oomguard.linter.formats import RenderContext
from oomguard.linter.runner import Report
from oomguard.policies.rule import Finding


def _name(obj: dict[str, object] | None) -> str:
    if not obj:
        return "<file>"
    ns = f"{obj.get('namespace')}/" if obj.get("namespace") else ""
    return f"{obj.get('kind')}/{ns}{obj.get('name')}"


def render(report: Report, context: RenderContext) -> str:
    by_object: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in report.findings:
        by_object[(f.file or "<input>", _name(f.object.to_json() if f.object else None))
                  ].append(f)
    cases: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for obj in report.objects:
        key = (str(obj.get("file") or "<input>"), _name(obj.get("object")))  # type: ignore[arg-type]
        if key not in seen:
            seen.add(key)
            cases.append(key)
    for key in by_object:  # objects only known through findings (e.g. an HPA)
        if key not in seen:
            seen.add(key)
            cases.append(key)
    suite = ET.Element("testsuite", name="oomguard")
    failures = errors = 0  # failed and erroring test cases (a case may list several findings)
    for file, name in cases:
        case = ET.SubElement(suite, "testcase", classname=file, name=name)
        notes = []
        failed = False
        for f in by_object.get((file, name), []):
            text = f"{f.file}:{f.line}:{f.column}: {f.path}\n{f.message}"
            if f.severity >= context.fail_on:
                failed = True
                failure = ET.SubElement(case, "failure", type=f.rule,
                                        message=f"{f.rule} {f.name}: {f.message}")
                failure.text = text
            else:
                notes.append(f"{f.severity} {f.rule} {f.name}: {text}")
        failures += failed
        if notes:
            ET.SubElement(case, "system-out").text = "\n".join(notes)
    for e in report.errors:
        errors += 1
        case = ET.SubElement(suite, "testcase", classname=e.file, name="input")
        error = ET.SubElement(case, "error", type="input-error", message=e.message)
        error.text = f"{e.file}:{e.line}:{e.column}: {e.message}"
    suite.set("tests", str(len(cases) + len(report.errors)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suites = ET.Element("testsuites", name="oomguard", tests=suite.get("tests", "0"),
                        failures=str(failures), errors=str(errors))
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
