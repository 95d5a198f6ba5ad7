"""``oomguard lint`` over node configuration, end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oomguard.cli import main

KUBEADM = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.34.0
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
evictionHard:
  nodefs.available: "10%"
kubeReserved:
  memory: 1Gi
"""
FLAGS = """\
# /etc/default/kubelet
KUBELET_EXTRA_ARGS="--node-ip=10.0.0.7 --eviction-hard=memory.available<0%"
"""
SYSCTL = """\
# /etc/sysctl.d/90-node.conf
vm.swappiness = 0

vm.panic_on_oom = 1
"""


def lint_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    code = main(["lint", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_folder_with_kubeadm_config_flags_and_sysctl(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    (tmp_path / "kubeadm.yaml").write_text(KUBEADM)
    (tmp_path / "kubelet.env").write_text(FLAGS)
    (tmp_path / "90-node.conf").write_text(SYSCTL)
    (tmp_path / "nginx.conf").write_text("server {\n  listen 80;\n}\n")
    (tmp_path / "app.env").write_text("DATABASE_URL=postgres://db\n")
    code, data = lint_json([str(tmp_path)], capsys)
    assert code == 1 and not data["errors"]
    hits = {(Path(f["file"]).name, f["rule"], f["line"], f["column"]) for f in data["findings"]}
    assert ("kubeadm.yaml", "OOM201", 12, 1) in hits  # evictionHard without memory.available
    assert ("kubelet.env", "OOM201", 2, 56) in hits  # memory.available<0% inside the flag
    assert ("90-node.conf", "OOM220", 4, 1) in hits
    assert {name for name, _, _, _ in hits} == {"kubeadm.yaml", "kubelet.env", "90-node.conf"}
    kinds = {(o["object"] or {}).get("kind") for o in data["objects"]}
    assert {"KubeletConfiguration", "KubeletFlags", "Sysctl"} <= kinds
    facts = [o["facts"]["kubelet"] for o in data["objects"] if "kubelet" in o["facts"]]
    assert {"evictionHard", "kubeReservedMemory", "enforceNodeAllocatable",
            "memoryManagerPolicy"} <= set(facts[0])


def test_the_examples_folder(capsys: pytest.CaptureFixture[str]) -> None:
    examples = Path(__file__).resolve().parents[1] / "examples" / "node"
    code, data = lint_json([str(examples)], capsys)
    assert code == 1 and not data["errors"]
    hits = {(Path(f["file"]).name, f["rule"], f["line"]) for f in data["findings"]}
    assert {("kubeadm-config.yaml", "OOM201", 17), ("kubeadm-config.yaml", "OOM209", 21),
            ("kubelet.env", "OOM201", 3), ("kubelet.env", "OOM210", 3),
            ("99-kubernetes.conf", "OOM220", 3), ("99-kubernetes.conf", "OOM221", 4)} <= hits
    rules = {rule for _, rule, _ in hits}
    assert "OOM207" not in rules and "OOM001" not in rules  # the ignore comment is used
    assert "OOM204" not in rules  # the grace period comes from kubeletExtraArgs


def test_input_type_forces_a_reading(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    settings = tmp_path / "settings.txt"
    settings.write_text("vm.panic_on_oom=2\n")
    code, data = lint_json(["--input-type", "sysctl", str(settings)], capsys)
    assert code == 1 and [f["rule"] for f in data["findings"]] == ["OOM220"]
    flags = tmp_path / "args"
    flags.write_text("--eviction-hard memory.available<10Mi\n")
    code, data = lint_json(["--input-type", "kubelet-flags", str(flags)], capsys)
    assert ("OOM203", 1) in {(f["rule"], f["line"]) for f in data["findings"]}


def test_node_memory_in_the_policy_gives_allocatable_and_enables_oom212(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".oomguard.yaml").write_text("node: {memory: 16Gi}\n")
    config = tmp_path / "k.yaml"
    config.write_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                      "kubeReserved: {memory: 1Gi}\nsystemReserved: {memory: 512Mi}\n")
    code, data = lint_json([str(config)], capsys)
    kubelet = data["objects"][0]["facts"]["kubelet"]
    assert kubelet["allocatableMemory"] == 16 * (1 << 30) - (3 << 29) - (100 << 20)
    assert "OOM212" in {f["rule"] for f in data["findings"]}


def test_bad_node_input_is_reported_with_lines_without_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "kubelet.env").write_text('KUBELET_EXTRA_ARGS="--eviction-hard=memory.avail'
                                          '<1Gi\n')
    (tmp_path / "90.conf").write_text("vm.overcommit_memory = 2\nvm.swappiness\n")
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kubelet-config, "
        "namespace: kube-system}\ndata:\n  kubelet: |\n    evictionHard: {a: b: c}\n")
    code, data = lint_json([str(tmp_path)], capsys)
    errors = {(Path(e["file"]).name, e["line"]) for e in data["errors"]}
    assert {("kubelet.env", 1), ("90.conf", 2), ("cm.yaml", 6)} <= errors
    hits = {(Path(f["file"]).name, f["rule"], f["line"]) for f in data["findings"]}
    assert ("kubelet.env", "OOM206", 1) in hits  # unknown signal memory.avail
    assert ("90.conf", "OOM221", 1) in hits
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
