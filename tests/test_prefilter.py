from __future__ import annotations

from linter.prefilter import blank_irrelevant
from policies.source import iter_documents

TEXT = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: x}
spec:
  versions: [{name: v1, schema: {containers: {type: array}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: a}]
--- # a comment
kind: Service
apiVersion: v1
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kubelet-config, namespace: kube-system}
---
{"kind": "Secret", "apiVersion": "v1"}
"""


def test_irrelevant_documents_are_blanked_with_lines_kept() -> None:
    out, skipped = blank_irrelevant(TEXT)
    assert skipped == 2
    assert out.count("\n") == TEXT.count("\n")
    docs = [d.data for d in iter_documents(out) if d.data is not None]
    assert [d["kind"] for d in docs] == ["Pod", "ConfigMap", "Secret"]
    pod = docs[0]
    assert pod.key_pos["spec"] == (10, 1)


def test_mapped_kinds_are_kept_and_plain_text_untouched() -> None:
    assert blank_irrelevant(TEXT, {"Service"})[1] == 1
    assert blank_irrelevant("a: 1\n") == ("a: 1\n", 0)


def test_syntax_errors_in_parsed_documents_still_found() -> None:
    text = "kind: Service\nbad: : x\n---\nkind: Pod\n  bad: : x\n"
    out, _ = blank_irrelevant(text)
    problems = [p for d in iter_documents(out) for p in d.problems]
    assert [p.line for p in problems] == [5]


def test_parse_all_reports_syntax_errors_in_skipped_kinds(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    from linter.cli import main

    f = tmp_path / "svc.yaml"
    f.write_text("kind: Service\napiVersion: v1\nbad: : x\n")
    assert main(["lint", "--format", "json", str(f)]) == 0
    capsys.readouterr()
    assert main(["lint", "--format", "json", "--parse-all", str(f)]) == 2
    assert json.loads(capsys.readouterr().out)["errors"][0]["line"] == 3
