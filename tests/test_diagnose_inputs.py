"""diagnose over bad and mixed input: truncated dumps (JSON and YAML), Lists with unknown
kinds, events without timestamps, pods without status, kernel lines cut in half, a log of a
node not in the dump, a 1 GB dump, YAML and JSON alike, directories and stdin. Each gives a
located error or notice, never a crash, and the rest is still diagnosed."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from oomguard.cli import main
from tests.diagnose_support import event_v1, kernel_oom, kubectl_list, node, pod, uid
from tests.diagnose_support.objects import cid
from tests.test_diagnose import OLD_FORMAT, oom_pod


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["diagnose", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def to_yaml(obj: Any) -> str:
    from ruamel.yaml import YAML

    buffer = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(obj, buffer)
    return buffer.getvalue()


def evicted(name: str) -> dict[str, Any]:
    return pod(name, phase="Failed", reason="Evicted", message=OLD_FORMAT.replace("cm", "app"))


def test_yaml_and_json_dumps_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = kubectl_list(node("w-8xk2p"), oom_pod("a-0"), evicted("b-0"))
    (tmp_path / "d.yaml").write_text(to_yaml(items))
    (tmp_path / "d.json").write_text(json.dumps(items))
    _, from_yaml = run(capsys, str(tmp_path / "d.yaml"))
    _, from_json = run(capsys, str(tmp_path / "d.json"))
    assert from_yaml == from_json
    assert sorted(i["type"] for i in from_json["incidents"]) == ["container-limit-oom",
                                                                  "eviction"]


def test_single_objects_several_documents_directory_and_stdin(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "pods.yaml").write_text(to_yaml(oom_pod("a-0")) + "---\n" + to_yaml(evicted("b-0")))
    (folder / "node.json").write_text(json.dumps(node("w-8xk2p")))
    (folder / ".hidden").write_text("not read")
    _, report = run(capsys, str(folder))
    assert sorted(i["pod"] for i in report["incidents"]) == ["a-0", "b-0"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(
        json.dumps(kubectl_list(evicted("c-0"))).encode())))
    _, report = run(capsys, "-")
    assert [i["pod"] for i in report["incidents"]] == ["c-0"]


def test_truncated_json_dump_keeps_the_items_before_the_cut(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = json.dumps(kubectl_list(node("w-8xk2p"), evicted("b-0"), oom_pod("a-0")), indent=4)
    (tmp_path / "cut.json").write_text(text[: text.index('"a-0"') + 40])
    code, report = run(capsys, str(tmp_path / "cut.json"))
    assert code == 2
    (error,) = report["errors"]
    assert error["file"].endswith("cut.json") and error["line"] > 1
    assert error["message"].startswith("invalid JSON")
    assert [i["pod"] for i in report["incidents"]] == ["b-0"]
    assert any("2 complete items" in n["message"] for n in report["notices"])


def test_truncated_yaml_dump_keeps_the_items_before_the_cut(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = to_yaml(kubectl_list(node("w-8xk2p"), evicted("b-0"), oom_pod("a-0")))
    cut = text[: text.index("name: a-0") + 9] + "\n    labels: {app: [\n"
    (tmp_path / "cut.yaml").write_text(cut)
    code, report = run(capsys, str(tmp_path / "cut.yaml"))
    assert code == 2
    assert report["errors"] and report["errors"][0]["line"] is not None
    assert [i["pod"] for i in report["incidents"]] == ["b-0"]


def test_unknown_kinds_untimed_events_pods_without_status(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bare = pod("nostatus-0", status=False)
    untimed = event_v1("gone-1.1", "Evicted", OLD_FORMAT, obj_name="gone-1", first=None,
                       last=None)
    items = kubectl_list(node("w-8xk2p"), {"apiVersion": "example.com/v1", "kind": "Widget",
                                           "metadata": {"name": "w"}},
                         {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}},
                         bare, untimed, "not an object")
    (tmp_path / "d.json").write_text(json.dumps(items))
    code, report = run(capsys, str(tmp_path / "d.json"))
    assert code == 1
    assert [(i["type"], i["pod"], i["time"]) for i in report["incidents"]] == [
        ("eviction", "gone-1", None)]
    messages = [n["message"] for n in report["notices"]]
    assert "objects of kinds diagnose does not read: Service (1), Widget (1); skipped" in messages
    assert "an item that is not an object: skipped" in messages


def test_cut_kernel_lines_and_a_node_not_in_the_dump(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "a-0"
    path = f"/kubepods/burstable/pod{uid(name)}/{cid(name + '/last')}"
    whole = kernel_oom(style="journal", task_memcg=path, oom_memcg=path, host="w-gone")
    lines = whole.splitlines()
    lines[-2] = lines[-2][:60]  # the Killed process line, cut
    other = kernel_oom(style="journal", task_memcg="/system.slice/containerd.service",
                       oom_memcg=None, constraint="CONSTRAINT_NONE", task="containerd",
                       host="w-gone", stamp="Mar 27 11:02:00", adj=-999)
    (tmp_path / "kern.log").write_text("\n".join(lines) + "\n" + other)
    (tmp_path / "d.json").write_text(json.dumps(kubectl_list(node("w-8xk2p"), oom_pod(name))))
    code, report = run(capsys, str(tmp_path / "d.json"), str(tmp_path / "kern.log"))
    assert code == 1
    by_type = {i["type"]: i for i in report["incidents"]}
    assert by_type["container-limit-oom"]["pod"] == name  # matched by container ID
    assert by_type["container-limit-oom"]["confidence"] == "certain"
    assert by_type["system-oom"]["pod"] is None
    assert "a process outside pods" in by_type["system-oom"]["cause"]
    messages = " | ".join(n["message"] for n in report["notices"])
    assert "w-gone, which is not in the input" in messages
    assert "without its 'Killed process' line" in messages


def test_a_1_gb_dump_is_an_input_error_not_a_crash(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(1 << 30)  # sparse: 1 GiB on paper
    (tmp_path / "d.json").write_text(json.dumps(kubectl_list(evicted("b-0"))))
    code, report = run(capsys, str(huge), str(tmp_path / "d.json"))
    assert code == 2
    assert report["errors"] == [{"file": str(huge), "line": 1, "column": 1, "message":
                                 "the file has 1024 MiB, more than --max-file-size (256 MiB); "
                                 "not read"}]
    assert [i["pod"] for i in report["incidents"]] == ["b-0"]


def test_missing_file_and_binary_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bin.dat").write_bytes(b"\x00\x01\x02")
    code, report = run(capsys, str(tmp_path / "nope.yaml"), str(tmp_path / "bin.dat"))
    assert code == 2
    assert [e["message"] for e in report["errors"]] == [
        "no such file or directory", "binary file (it contains NUL bytes); not read"]
