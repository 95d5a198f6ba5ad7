"""Hostile input to `oomguard lint`, each case in a child process under a wall-clock timeout
and a 1 GiB address-space limit (tests/bounded.py): it must terminate, stay small, report a
located input error (exit 2) and still lint every other document and file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.bounded import Outcome, run_bounded

TIMEOUT = 20.0

POD = """apiVersion: v1
kind: Pod
metadata: {name: other}
spec:
  containers:
  - name: app
    image: nginx
"""  # no memory limit: OOM101 at the container, line 6 column 5
BILLION_LAUGHS = 'lol: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{','.join(['*' + prev] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True))  # 9^9 strings expanded


def lint(*argv: str, stdin: bytes | None = None, cwd: Path | None = None
         ) -> tuple[Outcome, dict[str, Any]]:
    outcome = run_bounded(["lint", "--format", "json", *argv], stdin=stdin, cwd=cwd,
                          timeout=TIMEOUT)
    assert "Traceback" not in outcome.stderr, outcome.stderr
    return outcome, json.loads(outcome.stdout)


def errors(data: dict[str, Any]) -> list[tuple[str, int, int, str]]:
    return [(Path(e["file"]).name, e["line"], e["column"], e["message"]) for e in data["errors"]]


def found(data: dict[str, Any]) -> set[tuple[str, str, int, int]]:
    return {(Path(f["file"]).name, f["rule"], f["line"], f["column"]) for f in data["findings"]}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode())
    return path


def pod_doc(name: str) -> str:
    return POD.replace("name: other", f"name: {name}")


# -- alias bombs, self-reference, nesting -------------------------------------------------------

@pytest.mark.parametrize("parse_all", [False, True])
def test_billion_laughs_in_a_pod_is_a_located_error(tmp_path: Path, parse_all: bool) -> None:
    bomb_pod = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: bomb\n  annotations:\n"
                + "".join("    " + line + "\n" for line in BILLION_LAUGHS.splitlines())
                + "spec: {containers: [{name: c, image: x}]}\n")
    bomb = write(tmp_path, "bomb.yaml", pod_doc("first") + "---\n" + bomb_pod + "---\n"
                 + pod_doc("last"))
    other = write(tmp_path, "other.yaml", POD)
    outcome, data = lint(*(["--parse-all"] if parse_all else []), str(bomb), str(other))
    assert outcome.code == 2
    [(name, line, column, message)] = errors(data)
    # an alias *c of `d: &d [*c,*c,*c,*c,*c...` (file line 17) tips go-yaml's count
    assert (name, line, column) == ("bomb.yaml", 17, 24)
    assert "document contains excessive aliasing" in message
    assert {("bomb.yaml", "OOM101", 6, 5), ("bomb.yaml", "OOM101", 30, 5),
            ("other.yaml", "OOM101", 6, 5)} <= found(data)
    assert not any(f[0] == "bomb.yaml" and 8 <= f[2] <= 24 for f in found(data))


def test_billion_laughs_in_a_policy_file_is_a_located_usage_error(tmp_path: Path) -> None:
    policy = write(tmp_path, "policy.yaml", "rules:\n  OOM104:\n    enabled: true\n"
                   + BILLION_LAUGHS)
    outcome = run_bounded(["lint", "--policy", str(policy), str(write(tmp_path, "p.yaml", POD))],
                          timeout=TIMEOUT)
    assert outcome.code == 2 and "Traceback" not in outcome.stderr
    assert f"{policy}: line 7, column 17: document contains excessive aliasing" in outcome.stderr


def test_self_referencing_alias_and_deep_nesting(tmp_path: Path) -> None:
    selfref = write(tmp_path, "selfref.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n"
                    "  annotations: &a {x: [*a]}\n---\n" + pod_doc("after"))
    deep = write(tmp_path, "deep.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {annotations: "
                 + "[" * 300_000 + "]" * 300_000 + "}\n---\n" + pod_doc("after"))
    policy = write(tmp_path, "policy.yaml", "rules: &r {OOM104: *r}\n")
    outcome, data = lint(str(selfref), str(deep))
    assert outcome.code == 2
    assert errors(data) == [
        ("selfref.yaml", 4, 24, "the value of anchor 'a' contains an alias to itself"),
        ("deep.yaml", 3, 279, "collections nest deeper than 256 levels")]
    assert {("selfref.yaml", "OOM101", 11, 5), ("deep.yaml", "OOM101", 10, 5)} <= found(data)
    outcome = run_bounded(["lint", "--policy", str(policy), str(selfref)], timeout=TIMEOUT)
    assert outcome.code == 2 and "Traceback" not in outcome.stderr
    assert "line 1, column 20: the value of anchor 'r' contains an alias to itself" in \
        outcome.stderr


# -- inputs that never finished -----------------------------------------------------------------

CONTROL = pod_doc("first") + "---\n" + pod_doc("second") + "---\napiVersion: v1\nkind: Pod\n" \
    "metadata: {name: \"\x1b[31mred\"}\nspec: {containers: [{name: c, image: x}]}\n---\n" \
    + pod_doc("last")


def test_control_character_in_a_later_document(tmp_path: Path) -> None:
    path = write(tmp_path, "esc.yaml", CONTROL.replace("\x1b", "\x07", 1).replace(
        "second", "se\x1bcond"))
    outcome, data = lint(str(path))
    assert outcome.code == 2
    assert [(n, line, col) for n, line, col, _ in errors(data)] == [
        ("esc.yaml", 11, 20), ("esc.yaml", 19, 19)]
    assert "control character U+001B is not allowed" in errors(data)[0][3]
    assert "control character U+0007 is not allowed" in errors(data)[1][3]
    assert found(data) >= {("esc.yaml", "OOM101", 6, 5), ("esc.yaml", "OOM101", 27, 5)}


def test_control_character_on_stdin(tmp_path: Path) -> None:
    outcome, data = lint("-", stdin=CONTROL.encode())
    assert outcome.code == 2
    [(name, line, column, message)] = errors(data)
    assert (name, line, column) == ("<stdin>", 19, 19) and "U+001B" in message
    assert found(data) >= {("<stdin>", "OOM101", 6, 5), ("<stdin>", "OOM101", 14, 5),
                           ("<stdin>", "OOM101", 27, 5)}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_in_a_directory_is_not_read(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    os.mkfifo(tree / "a-fifo.yaml")  # nobody writes: opening it would block forever
    write(tree, "pod.yaml", POD)
    outcome, data = lint(str(tree))
    assert outcome.code == 2
    assert errors(data) == [("a-fifo.yaml", 1, 1, "not a regular file (a FIFO); only regular "
                                                   "files are read in a directory")]
    assert ("pod.yaml", "OOM101", 6, 5) in found(data)


# -- crashes that dropped the whole report ----------------------------------------------------

def test_dangling_symlink_and_loop_with_jobs(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "dangling.yaml").symlink_to(tree / "gone.yaml")
    (tree / "loop.yaml").symlink_to(tree / "loop.yaml")
    write(tree, "pod.yaml", POD)
    # over the 16 MiB at which --jobs spreads files over processes (runner.PARALLEL_MIN_BYTES);
    # a Secret, so the prefilter skips it and the test stays fast
    big = "apiVersion: v1\nkind: Secret\nmetadata: {name: big}\ndata:\n" + "".join(
        f"  k{i}: {'QUJD' * 60}\n" for i in range(70_000))
    write(tree, "big.yaml", big)
    write(tree, "zz-pod.yaml", pod_doc("zz"))
    assert sum(p.stat().st_size for p in tree.iterdir() if p.is_file()) > 16 << 20
    outcome, data = lint("--jobs", "2", str(tree))
    assert outcome.code == 2
    assert sorted(errors(data)) == [
        ("dangling.yaml", 1, 1, "cannot read: a dangling symbolic link (No such file or "
                                "directory); not linted"),
        ("loop.yaml", 1, 1, "cannot read: a symbolic link loop (Too many levels of symbolic "
                            "links); not linted")]
    assert {("pod.yaml", "OOM101", 6, 5), ("zz-pod.yaml", "OOM101", 6, 5)} <= found(data)


def test_non_string_kind_and_api_version(tmp_path: Path) -> None:
    path = write(tmp_path, "kind.yaml", "apiVersion: v1\nkind: {a: 1}\n---\napiVersion: [v1]\n"
                 "kind: Pod\n---\n" + pod_doc("after"))
    node = write(tmp_path, "kubelet.conf", "apiVersion: kubelet.config.k8s.io/v1beta1\n"
                 "kind: {a: 1}\n")
    outcome, data = lint(str(path))
    assert outcome.code == 2
    assert errors(data) == [
        ("kind.yaml", 2, 1, "the document's kind is a mapping, not a string: not a Kubernetes "
                            "object"),
        ("kind.yaml", 4, 1, "the document's apiVersion is a sequence, not a string: not a "
                            "Kubernetes object")]
    assert ("kind.yaml", "OOM101", 12, 5) in found(data)
    outcome, data = lint("--input-type", "kubelet-config", str(node))
    assert outcome.code == 2
    assert errors(data) == [("kubelet.conf", 2, 1, "kind must be a string, not a mapping")]


# -- documents silently lost ------------------------------------------------------------------

@pytest.mark.parametrize("broken,message", [
    ('metadata: {name: "unclosed\n', "while scanning a quoted scalar"),
    ("metadata: {name: x\n", "while parsing a flow mapping"),
])
def test_error_reported_on_the_next_document_start(tmp_path: Path, broken: str,
                                                   message: str) -> None:
    path = write(tmp_path, "m.yaml", "apiVersion: v1\nkind: Pod\n" + broken + "---\n"
                 + pod_doc("kept") + "---\n" + pod_doc("last"))
    outcome, data = lint(str(path))
    assert outcome.code == 2
    [(name, line, column, text)] = errors(data)
    assert (name, line, column) == ("m.yaml", 4, 1) and message in text
    assert {("m.yaml", "OOM101", 10, 5), ("m.yaml", "OOM101", 18, 5)} <= found(data)


def test_crlf_documents_after_an_error_are_linted(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: Pod\nbad: : x\n---\n" + pod_doc("a") + "---\n" + pod_doc("b")
    path = write(tmp_path, "crlf.yaml", text.replace("\n", "\r\n"))
    outcome, data = lint(str(path))
    assert outcome.code == 2
    assert [(n, line, col) for n, line, col, _ in errors(data)] == [("crlf.yaml", 3, 6)]
    assert {("crlf.yaml", "OOM101", 10, 5), ("crlf.yaml", "OOM101", 18, 5)} <= found(data)


def test_prefilter_loses_no_deployment(tmp_path: Path) -> None:
    crlf = write(tmp_path, "crlf.yaml", ("apiVersion: v1\nkind: Service # the front\n"
                                         "metadata: {name: s}\n---\n" + pod_doc("p")
                                         ).replace("\n", "\r\n"))
    quoted = write(tmp_path, "quoted.yaml", "apiVersion: apps/v1\nmetadata:\n  name: web\n"
                   "  annotations:\n    note: \"a note that goes on\nkind: Service\n      and ends\"\n"
                   "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
                   "      - name: app\n        image: nginx\n")
    outcome, data = lint(str(crlf), str(quoted))
    assert outcome.code == 1 and not data["errors"]
    assert {("crlf.yaml", "OOM101", 10, 5), ("quoted.yaml", "OOM101", 13, 9)} <= found(data)


# -- sizes and positions ----------------------------------------------------------------------

def test_file_over_max_file_size(tmp_path: Path) -> None:
    big = write(tmp_path, "big.yaml", POD + "# " + "x" * 4096 + "\n")
    small = write(tmp_path, "small.yaml", POD)
    outcome, data = lint("--max-file-size", "4Ki", str(big), str(small))
    assert outcome.code == 2
    assert errors(data) == [("big.yaml", 1, 1, f"the file has {big.stat().st_size} bytes, more "
                                                "than --max-file-size (4096 bytes); not linted")]
    assert ("small.yaml", "OOM101", 6, 5) in found(data)
    outcome, data = lint("--max-file-size", "100", "-", stdin=POD.encode() * 2)
    assert outcome.code == 2 and errors(data) == [
        ("<stdin>", 1, 1, "the input is longer than --max-file-size (100 bytes); not linted")]


def test_binary_and_missing_files_have_a_position(tmp_path: Path) -> None:
    binary = write(tmp_path, "bin.yaml", b"apiVersion: v1\nkind: P\x00od\n")
    outcome, data = lint(str(binary), str(tmp_path / "missing.yaml"),
                         str(write(tmp_path, "p.yaml", POD)))
    assert outcome.code == 2
    assert sorted(errors(data)) == [
        ("bin.yaml", 2, 8, "binary file (it contains NUL bytes); not linted"),
        ("missing.yaml", 1, 1, "no such file or directory")]
    assert ("p.yaml", "OOM101", 6, 5) in found(data)

