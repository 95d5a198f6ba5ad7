"""The lint command end to end: exit codes, formats, bad input, policy errors."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from oomguard.cli import main

BAD_POD = """apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
"""
GOOD_POD = """apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    resources:
      requests: {memory: 256Mi, cpu: 100m}
      limits: {memory: 256Mi, cpu: 100m}
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code, out, _ = run(capsys, "lint", "--format", "json", *argv)
    return code, json.loads(out)


def write(tmp: Path, name: str, text: str | bytes) -> str:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def test_exit_codes_and_fail_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "good.yaml", GOOD_POD)
    bad = write(tmp_path, "bad.yaml", BAD_POD)
    assert run(capsys, "lint", good)[0] == 0
    assert run(capsys, "lint", bad)[0] == 1
    warn_only = write(tmp_path, "warn.yaml", GOOD_POD.replace("requests: {memory: 256Mi, cpu: 100m}",
                                                              "requests: {memory: 64Mi, cpu: 100m}"))
    assert run(capsys, "lint", warn_only)[0] == 0
    assert run(capsys, "lint", "--fail-on", "warning", warn_only)[0] == 1
    assert run(capsys, "lint", "--bogus")[0] == 2


def test_text_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, "bad.yaml", BAD_POD)
    _, out, _ = run(capsys, "lint", bad)
    assert f"{bad}:6:5: error OOM101 memory-limit-missing: " in out
    assert out.rstrip().splitlines()[-1].startswith("2 error(s), 1 warning(s)")


def test_json_keys_are_stable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, "deploy.yaml", """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: app
        resources:
          requests: {memory: 256Mi}
""")
    code, data = run_json(capsys, bad)
    assert code == 1
    finding = next(f for f in data["findings"] if f["rule"] == "OOM101")
    assert finding == {
        "rule": "OOM101", "name": "memory-limit-missing", "severity": "error",
        "message": finding["message"], "file": bad, "line": 9, "column": 9,
        "object": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": None,
                   "name": "web"},
        "container": "app", "path": "spec.template.spec.containers[0].resources",
        "action": "deny"}
    obj = data["objects"][0]
    assert obj["file"] == bad and obj["object"]["kind"] == "Deployment"
    assert obj["facts"]["qos"] == "Burstable"
    assert obj["facts"]["podMemoryRequest"] == 268435456
    assert obj["facts"]["containers"][0] == {
        "name": "app", "init": False, "sidecar": False, "memoryRequest": 268435456,
        "memoryLimit": None, "oomScoreAdj": None}
    assert data["errors"] == []
    assert data["summary"] == {"error": 1, "warning": 0, "info": 0, "files": 1, "objects": 1}


def test_node_memory_gives_oom_score_adj(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, ".oomguard.yaml", "node: {memory: 16Gi}\n")
    f = write(tmp_path, "p.yaml", GOOD_POD.replace("limits: {memory: 256Mi, cpu: 100m}",
                                                   "limits: {memory: 512Mi}"))
    _, data = run_json(capsys, f)
    assert data["objects"][0]["facts"]["containers"][0]["oomScoreAdj"] == 1000 - (1000 * 256) // (16 * 1024)


def test_directory_walk_stdin_and_multi_document(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "d/a.yaml", BAD_POD + "---\n" + GOOD_POD.replace("web", "web2"))
    write(tmp_path, "d/sub/b.yml", BAD_POD.replace("web", "b"))
    write(tmp_path, "d/c.json", json.dumps({"apiVersion": "v1", "kind": "Pod",
                                            "metadata": {"name": "c"},
                                            "spec": {"containers": [{"name": "x"}]}}, indent=1))
    write(tmp_path, "d/readme.txt", "not linted")
    code, data = run_json(capsys, str(tmp_path / "d"))
    names = sorted({o["object"]["name"] for o in data["objects"]})
    assert names == ["b", "c", "web", "web2"] and code == 1
    c_finding = next(f for f in data["findings"] if f["object"]["name"] == "c" and f["rule"] == "OOM101")
    assert c_finding["line"] == 9  # JSON input has positions too: the container's line
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BAD_POD.encode())))
    code, data = run_json(capsys, "-")
    assert code == 1 and data["findings"][0]["file"] == "<stdin>"


@pytest.mark.parametrize("name,content,message,line", [
    ("syntax.yaml", "kind: Pod\n---\nkind: Pod\n  bad: : x\n", "YAML syntax error", 4),
    ("scalar.yaml", "just a string\n", "not a Kubernetes object", 1),
    ("nokind.yaml", "apiVersion: v1\nmetadata: {name: x}\n", "has no kind", 1),
    ("nospec.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n", "has no spec", 1),
    ("container.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n  - just-a-string\n",
     "a container must be a mapping", 6),
    ("latin1.yaml", "kind: Pod\nname: caf\xe9\n".encode("latin-1"), "not UTF-8", 2),
    ("binary.yaml", b"\x00\x01\x02garbage", "binary file", 1),  # at the first NUL byte
    ("binary2.yaml", b"kind: Pod\nname: \x00x\n", "binary file", 2),
    ("empty.yaml", "", "holds no YAML", 1),
])
def test_bad_input_is_reported_and_the_rest_still_linted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str | bytes,
        message: str, line: int | None) -> None:
    broken = write(tmp_path, name, content)
    other = write(tmp_path, "other.yaml", BAD_POD)
    code, data = run_json(capsys, broken, other)
    assert code == 2
    error = next(e for e in data["errors"] if e["file"] == broken and message in e["message"])
    assert error["line"] == line
    assert any(f["file"] == other and f["rule"] == "OOM101" for f in data["findings"])


def test_unparseable_quantity_is_a_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "q.yaml", BAD_POD.replace("image: nginx", "resources: {limits: {memory: 1GB}}"))
    code, data = run_json(capsys, f)
    assert code == 1 and any(x["rule"] == "OOM105" for x in data["findings"])


def test_unknown_kind_with_pod_template_is_a_notice(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "r.yaml", "apiVersion: example.com/v1\nkind: Frobnicator\nmetadata: {name: r}\n"
                                 "spec:\n  template:\n    spec:\n      containers: [{name: a}]\n")
    code, data = run_json(capsys, f)
    assert code == 0 and "kinds:" in data["notices"][0]["message"]


def test_many_files_and_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(2000):
        write(tmp_path, f"many/f{i:04}.yaml", BAD_POD.replace("web", f"w{i}"))
    code, data = run_json(capsys, str(tmp_path / "many"), str(tmp_path / "missing.yaml"))
    assert code == 2 and data["summary"]["objects"] == 2000
    assert data["errors"][0]["message"] == "no such file or directory"


@pytest.mark.parametrize("policy,key", [
    ("rules:\n  OOM104: {max-ratio: lots}\n", "rules.OOM104.max-ratio"),
    ("rules:\n  OOM999: {enabled: false}\n", "rules: unknown key 'OOM999'"),
    ("extends: lenient\n", "extends"),
    ("node: {memory: 16GB}\n", "node.memory"),
    ("rules:\n  OOM107: {min: 1K}\n", "rules.OOM107.min"),
    ("bogus: 1\n", "unknown key 'bogus'"),
    ("rules: [\n", "line"),
])
def test_bad_policy_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], policy: str,
                                  key: str) -> None:
    p = write(tmp_path, "policy.yaml", policy)
    f = write(tmp_path, "p.yaml", GOOD_POD)
    code, out, err = run(capsys, "lint", "--policy", p, f)
    assert code == 2 and key in err and out == ""


def test_policy_file_example_from_the_issue(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, ".oomguard.yaml", """extends: default
node: {memory: 16Gi, allocatable: 14Gi}
rules:
  OOM104: {max-ratio: 1.5}
  memory-request-missing: {severity: error}
  OOM115: {enabled: true, max: 900}
  OOM102: {enabled: false}
exclude: {namespaces: [kube-system], paths: ["vendor/**"]}
kinds:
  - {apiVersion: argoproj.io/v1alpha1, kind: Rollout, podTemplate: spec.template}
""")
    write(tmp_path, "vendor/x/bad.yaml", BAD_POD)
    write(tmp_path, "sys.yaml", BAD_POD.replace("name: web", "name: web\n  namespace: kube-system"))
    ratio = write(tmp_path, "ratio.yaml", GOOD_POD.replace("limits: {memory: 256Mi, cpu: 100m}",
                                                           "limits: {memory: 512Mi}"))
    code, data = run_json(capsys, ".")
    # vendor/ and kube-system are excluded; ratio.yaml breaks max-ratio 1.5 and, on a 16Gi
    # node, gets oom_score_adj 985 > 900 (OOM115 enabled)
    assert {f["rule"] for f in data["findings"]} == {"OOM104", "OOM115"}
    assert {f["file"] for f in data["findings"]} == {"./ratio.yaml"} and ratio
    assert data["summary"]["files"] == 3


def test_rules_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules")
    assert code == 0 and "OOM101  memory-limit-missing" in out
    code, out, _ = run(capsys, "explain", "memory-unit-suspicious")
    assert code == 0 and "## OOM106 memory-unit-suspicious" in out and "Use instead" in out
    assert run(capsys, "explain", "OOM999")[0] == 2


def test_corpus_runs_to_the_end(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, str(corpus))
    assert code == 1 and not data["errors"]
    assert data["summary"]["files"] == 361
    # every finding's line holds the deepest key of its path that exists in the file (or
    # the list item it ends in)
    for finding in data["findings"]:
        assert finding["line"] and finding["line"] >= 1
        line = Path(finding["file"]).read_text(encoding="utf-8").splitlines()[finding["line"] - 1]
        keys = [k.split("[")[0] for k in finding["path"].split(".")]
        assert any(k and k in line for k in keys) or line.lstrip().startswith("-"), (finding, line)
