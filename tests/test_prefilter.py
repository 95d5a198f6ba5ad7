from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomguard.linter.inputs import InputFile
from oomguard.linter.prefilter import blank_irrelevant
from oomguard.linter.runner import FileLinter, lint_paths
from oomguard.policies.config import build_policy
from oomguard.policies.rule import Finding
from oomguard.policies.source import iter_documents

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

    from oomguard.cli import main

    f = tmp_path / "svc.yaml"
    f.write_text("kind: Service\napiVersion: v1\nbad: : x\n")
    assert main(["lint", "--format", "json", str(f)]) == 0
    capsys.readouterr()
    assert main(["lint", "--format", "json", "--parse-all", str(f)]) == 2
    assert json.loads(capsys.readouterr().out)["errors"][0]["line"] == 3


# -- the prefilter never skips a document the full parse would judge --------------------------
# Proved the way the issue asks: the same findings (rule, file, line, column, path) with and
# without it, over the corpus and over generated variants of the ways a text can mislead a
# line-based look at `kind:` (CRLF, comments, quotes, block scalars, flow style, ...).

POLICY = build_policy(None)


def _keys(findings: list[Finding]) -> list[tuple[object, ...]]:
    return sorted((f.rule, f.file, f.line, f.column, f.path) for f in findings)


def test_corpus_findings_are_the_same_without_the_prefilter(corpus: Path) -> None:
    skipping = lint_paths([str(corpus)], POLICY, keep_facts=False)
    parsing = lint_paths([str(corpus)], POLICY, keep_facts=False, parse_all=True)
    assert skipping.findings and _keys(skipping.findings) == _keys(parsing.findings)
    assert skipping.object_count == parsing.object_count


def _deployment(i: int, kind: str, kind_at: str, trap: str) -> list[str]:
    """A Deployment that has findings (no memory limit); ``trap`` hides a line
    `kind: Service` at column 0 (or an indented one) in its metadata."""
    traps = {
        "none": [],
        "double-quoted": ['    note: "first', "kind: Service", '      last"'],
        "single-quoted": ["    note: 'first", "kind: Service", "      last'"],
        "block": ["    note: |", "      kind: Service", "      ---", "      more"],
        "folded": ["    note: >-", "      kind: Service"],
        "flow": ["    note: {a: 1,", "kind: Service}"],
        "flow-seq": ["    note: [a,", "kind: Service]"],
        "comment": ["    # kind: Service", "#kind: Service"],
    }
    meta = ["metadata:", f"  name: web{i}", "  annotations:", "    a: b", *traps[trap]]
    spec = ["spec:", "  template:", "    spec:", "      containers:",
            f"      - name: app{i}", "        image: nginx"]
    head = ["apiVersion: apps/v1"]
    if kind_at == "first":
        return [*head, kind, *meta, *spec]
    if kind_at == "after-metadata":
        return [*head, *meta, kind, *spec]
    return [*head, *meta, *spec, kind]


def _skippable_kind(i: int, kind: str, trap: str) -> list[str]:
    """A document of a kind never judged, or one that only looks like it."""
    body = ["apiVersion: v1", kind, f"metadata: {{name: svc{i}}}", "spec:", "  ports: [{port: 80}]"]
    if trap == "duplicate-kind":  # the last `kind` wins: this is a Deployment after all
        return ["apiVersion: apps/v1", kind, f"metadata: {{name: dup{i}}}", "kind: Deployment",
                "spec: {template: {spec: {containers: [{name: c, image: x}]}}}"]
    if trap == "continued":  # `kind: Service Deployment`, a plain scalar over two lines
        return [*body[:2], "  Deployment", *body[2:]]
    if trap == "quoted-key":
        return ["apiVersion: apps/v1", kind, f"metadata: {{name: q{i}}}", '"kind": Deployment',
                "spec: {template: {spec: {containers: [{name: c, image: x}]}}}"]
    if trap == "document-end":  # a second document after `...`, without `---`
        return [*body, "...", "apiVersion: v1", "kind: Pod", f"metadata: {{name: p{i}}}",
                "spec: {containers: [{name: c, image: x}]}"]
    return body


KUBELET_CONFIG_MAP = [
    "apiVersion: v1", "kind: ConfigMap",
    'metadata: {name: "\\x6bubelet-config", namespace: kube-system}',  # an escape spells it
    "data:", "  kubelet: |", "    apiVersion: kubelet.config.k8s.io/v1beta1",
    "    kind: KubeletConfiguration", "    evictionHard: {memory.available: 1Mi}"]
FLOW_DEPLOYMENT = ['{"apiVersion": "apps/v1", "kind": "Deployment",', '"metadata": {"name": "j"},',
                   '"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}}']

kinds_judged = st.sampled_from(["kind: Deployment", "kind: Deployment # the app",
                                'kind: "Deployment"', "kind: 'Deployment'"])
kinds_skipped = st.sampled_from(["kind: Service", "kind: Service # comment", 'kind: "Service"',
                                 "kind: 'Secret'", "kind: CustomResourceDefinition",
                                 "kind: ConfigMap"])
documents = st.one_of(
    st.builds(lambda k, at, trap: ("d", k, at, trap), kinds_judged,
              st.sampled_from(["first", "after-metadata", "last"]),
              st.sampled_from(["none", "double-quoted", "single-quoted", "block", "folded",
                               "flow", "flow-seq", "comment"])),
    st.builds(lambda k, trap: ("s", k, trap), kinds_skipped,
              st.sampled_from(["none", "none", "duplicate-kind", "continued", "quoted-key",
                               "document-end"])),
    st.sampled_from([("kubelet",), ("flow",), ("broken", 'a: "unclosed'), ("broken", "b: {c: 1")]),
)
separators = st.sampled_from(["---", "--- # next", "---  "])


def _render(docs: list[tuple[str, ...]], seps: list[str], newline: str, leading: bool) -> str:
    parts: list[str] = []
    for i, (doc, sep) in enumerate(zip(docs, seps, strict=False)):
        if i or leading:
            parts.append(sep)
        if doc[0] == "d":
            parts.extend(_deployment(i, doc[1], doc[2], doc[3]))
        elif doc[0] == "s":
            parts.extend(_skippable_kind(i, doc[1], doc[2]))
        elif doc[0] == "kubelet":
            parts.extend(KUBELET_CONFIG_MAP)
        elif doc[0] == "flow":
            parts.extend(FLOW_DEPLOYMENT)
        else:
            parts.append(doc[1])
    return newline.join(parts) + newline


# derandomized and without an example database: the same 300 examples in every CI run
@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(documents, min_size=1, max_size=6),
       seps=st.lists(separators, min_size=6, max_size=6),
       newline=st.sampled_from(["\n", "\r\n"]), leading=st.booleans())
def test_generated_variants_have_the_same_findings_without_the_prefilter(
        docs: list[tuple[str, ...]], seps: list[str], newline: str, leading: bool) -> None:
    text = _render(docs, seps, newline, leading)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.yaml"
        path.write_bytes(text.encode())
        item = InputFile(str(path), "m.yaml")
        skipping = FileLinter(POLICY, keep_facts=False).lint_file(item)
        parsing = FileLinter(POLICY, keep_facts=False, parse_all=True).lint_file(item)
    assert _keys(skipping.findings) == _keys(parsing.findings), text
    assert skipping.object_count == parsing.object_count, text


def test_issue_cases_are_judged() -> None:
    crlf = "kind: Service # comment\r\napiVersion: v1\r\n---\r\n" + "\r\n".join(
        _deployment(1, "kind: Deployment", "first", "none")) + "\r\n"
    out, skipped = blank_irrelevant(crlf)
    assert skipped == 1 and [d.data["kind"] for d in iter_documents(out) if d.data] == ["Deployment"]
    quoted = "\n".join(_deployment(1, "kind: Deployment", "after-metadata", "double-quoted")) + "\n"
    assert blank_irrelevant(quoted) == (quoted, 0)
