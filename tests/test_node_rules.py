"""Node rules OOM201-OOM221: kubelet configuration, flags, ConfigMap form and sysctl files."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from linter.cli import main
from policies import node
from policies.config import build_policy
from policies.engine import Engine, Run
from policies.node.flags import parse_flags
from policies.node.kubelet import parse_threshold
from policies.source import iter_documents

HEADER = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"


def lint_node(text: str, input_type: str, policy: dict[str, Any] | None = None
              ) -> list[tuple[str, int | None]]:
    outcome = node.subjects_from_text(text, "node-file", input_type)
    assert outcome is not None
    subjects, _ = outcome
    engine = Engine(build_policy(policy))
    result = engine.evaluate_node_subjects(subjects, engine.context(), "node-file", None)
    return sorted((f.rule, f.line) for f in result.findings)


def rules(found: list[tuple[str, int | None]]) -> set[str]:
    return {code for code, _ in found}


def test_no_eviction_hard_gets_every_default() -> None:
    assert not rules(lint_node(HEADER + "kubeReserved: {memory: 1Gi}\n"
                               "evictionMinimumReclaim: {memory.available: 100Mi}\n",
                               "kubelet-config"))


@pytest.mark.parametrize("value,fires", [("0%", True), ("100%", True), ("5%", False),
                                         ("500Mi", False)])
def test_oom201_zero_and_hundred_percent_are_ignored(value: str, fires: bool) -> None:
    text = HEADER + f"mergeDefaultEvictionSettings: true\nevictionHard:\n  memory.available: \"{value}\"\n"
    assert ("OOM201" in rules(lint_node(text, "kubelet-config"))) is fires


def test_merge_setting_keeps_defaults() -> None:
    partial = HEADER + "evictionHard:\n  nodefs.available: \"10%\"\n"
    assert {"OOM201", "OOM202"} <= rules(lint_node(partial, "kubelet-config"))
    merged = HEADER + "mergeDefaultEvictionSettings: true\n" + partial[len(HEADER):]
    assert not {"OOM201", "OOM202"} & rules(lint_node(merged, "kubelet-config"))


def test_oom203_percentage_needs_node_memory() -> None:
    text = HEADER + "mergeDefaultEvictionSettings: true\nevictionHard:\n  memory.available: \"1%\"\n"
    assert "OOM203" not in rules(lint_node(text, "kubelet-config"))
    assert "OOM203" in rules(lint_node(text, "kubelet-config", {"node": {"memory": "4Gi"}}))
    assert "OOM203" not in rules(lint_node(text, "kubelet-config", {"node": {"memory": "64Gi"}}))


def test_oom205_soft_vs_hard_mixed_units() -> None:
    text = HEADER + ("mergeDefaultEvictionSettings: true\nevictionHard: {memory.available: 1Gi}\n"
                     "evictionSoft: {memory.available: \"5%\"}\nevictionSoftGracePeriod: {memory.available: 1m}\n")
    assert "OOM205" not in rules(lint_node(text, "kubelet-config"))  # unknown node size
    assert "OOM205" in rules(lint_node(text, "kubelet-config", {"node": {"memory": "8Gi"}}))
    assert "OOM205" not in rules(lint_node(text, "kubelet-config", {"node": {"memory": "64Gi"}}))


@pytest.mark.parametrize("signal,value,ok", [
    ("memory.available", "100Mi", True), ("memory.available", "-1Mi", False),
    ("memory.available", "0", False), ("memory.available", "1GB", False),
    ("memory.available", "101%", False), ("memory.available", "-5%", False),
    ("memory.avail", "1Gi", False), ("pid.available", "10%", True),
])
def test_threshold_parsing(signal: str, value: str, ok: bool) -> None:
    assert (parse_threshold(signal, value).error is None) is ok


def test_oom206_durations_and_reclaim() -> None:
    text = HEADER + ("evictionSoft: {memory.available: 2Gi}\n"
                     "evictionSoftGracePeriod: {memory.available: 1m30s, nodefs.available: soon}\n"
                     "evictionMinimumReclaim: {memory.available: lots}\n")
    found = lint_node(text, "kubelet-config")
    assert ("OOM206", 4) in found and ("OOM206", 5) in found


@pytest.mark.parametrize("enforce,extra,fires", [
    ('["pods"]', "", False),
    ('["pods", "pods"]', "", True),
    ('["none", "pods"]', "", True),
    ('["pods", "bogus"]', "", True),
    ('["pods", "system-reserved"]', "", True),
    ('["pods", "system-reserved"]', "systemReservedCgroup: /system.slice\n", False),
    ('["pods", "kube-reserved", "kube-reserved-compressible"]', "kubeReservedCgroup: /kube\n", True),
    ('["pods"]', "cgroupsPerQOS: false\n", True),
])
def test_oom209_enforce_node_allocatable(enforce: str, extra: str, fires: bool) -> None:
    text = HEADER + f"enforceNodeAllocatable: {enforce}\n" + extra
    assert ("OOM209" in rules(lint_node(text, "kubelet-config"))) is fires


def test_oom208_none() -> None:
    assert "OOM208" in rules(lint_node(HEADER + 'enforceNodeAllocatable: ["none"]\n', "kubelet-config"))


def test_oom210_static_memory_manager_sums_numa_nodes() -> None:
    base = HEADER + ("memoryManagerPolicy: Static\nkubeReserved: {memory: 1Gi}\n"
                     "systemReserved: {memory: 1Gi}\nreservedMemory:\n")
    exact = base + "- {numaNode: 0, limits: {memory: 1Gi}}\n- {numaNode: 1, limits: {memory: 1124Mi}}\n"
    assert "OOM210" not in rules(lint_node(exact, "kubelet-config"))
    wrong = base + "- {numaNode: 0, limits: {memory: 2Gi}}\n"
    assert "OOM210" in rules(lint_node(wrong, "kubelet-config"))
    flags = ("--memory-manager-policy=Static --kube-reserved=memory=1Gi --system-reserved=memory=1Gi "
             "--reserved-memory '0:memory=1Gi;1:memory=1124Mi'\n")
    assert "OOM210" not in rules(lint_node(flags, "kubelet-flags"))


def test_oom212_tiers() -> None:
    from policies.rules.oom212_kubelet_reserved_below_recommended import recommended
    gi = 1 << 30
    assert recommended(Decimal(16 * gi)) == Decimal(gi) * Decimal("2.6")
    assert recommended(Decimal(256 * gi)) == Decimal(gi) * (1 + Decimal("0.8") + Decimal("0.8")
                                                            + Decimal("6.72") + Decimal("2.56"))
    text = HEADER + "kubeReserved: {memory: 2Gi}\n"
    assert "OOM212" not in rules(lint_node(text, "kubelet-config"))  # needs node.memory
    assert "OOM212" in rules(lint_node(text, "kubelet-config", {"node": {"memory": "16Gi"}}))


def test_flags_forms_map_to_the_same_model() -> None:
    systemd = ('[Service]\nEnvironment="KUBELET_KUBEADM_ARGS=--eviction-hard=memory.available<50Mi"\n'
               "ExecStart=/usr/bin/kubelet \\\n  --kube-reserved=memory=1Gi \\\n"
               "  --eviction-soft memory.available<1Gi\n")
    flags, problems = parse_flags(systemd)
    assert not problems
    assert [(f.name, f.line) for f in flags] == [("eviction-hard", 2), ("kube-reserved", 3),
                                                 ("eviction-soft", 3)]
    found = lint_node(systemd, "kubelet-flags")
    assert ("OOM203", 2) in found and ("OOM204", 3) in found


def test_flag_file_with_dangling_quote_is_still_read() -> None:
    outcome = node.subjects_from_text('KUBELET_EXTRA_ARGS="--eviction-hard=memory.available<0%\n',
                                      "f", None)
    assert outcome is not None
    subjects, problems = outcome
    assert problems and problems[0].line == 1
    assert subjects[0].settings.eviction_hard == {"memory.available": "0%"}


def test_sysctl_forms() -> None:
    text = ("# comment\n; other\nvm/panic_on_oom=2\n-vm.overcommit_memory = 1\n"
            "kernel.pid_max = 4194304\nnot a setting\n")
    outcome = node.subjects_from_text(text, "s.conf", None)
    assert outcome is not None
    subjects, problems = outcome
    assert [p.line for p in problems] == [6]
    found = lint_node(text, "sysctl")
    assert found == [("OOM220", 3)]


def test_later_sysctl_lines_win() -> None:
    assert lint_node("vm.panic_on_oom = 1\nvm.panic_on_oom = 0\n", "sysctl") == []


def test_comment_suppression_and_oom001() -> None:
    text = "# oomguard: ignore=OOM220,OOM221 accepted for this lab node\nvm.panic_on_oom = 1\n"
    found = lint_node(text, "sysctl")
    assert found == [("OOM001", 1)]  # OOM221 suppressed nothing


def config_map(kubelet: str) -> str:
    body = "\n".join("    " + line for line in kubelet.splitlines())
    return ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kubelet-config\n"
            f"  namespace: kube-system\ndata:\n  kubelet: |\n{body}\n")


def test_config_map_form_lines_point_into_the_file() -> None:
    text = config_map(HEADER + "evictionHard:\n  nodefs.available: 10%\n")
    engine = Engine(build_policy(None))
    run = Run(engine)
    result = run.add(next(iter_documents(text)).data, "cm.yaml", text)
    assert result is not None
    lines = {f.rule: f.line for f in result.findings}
    assert lines["OOM201"] == 10  # the evictionHard line inside the block scalar


def test_config_map_comment_suppression_from_json_body() -> None:
    import json as _json

    kubelet = "# oomguard: ignore=OOM207 managed by the cloud image\n" + HEADER
    obj = _json.loads(_json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "kubelet-config",
                                                "namespace": "kube-system"},
                                   "data": {"kubelet": kubelet}}))
    result = Engine(build_policy(None)).evaluate_object(obj, text=_json.dumps(obj))
    assert result is not None and "OOM207" not in {f.rule for f in result.findings}
    assert "OOM211" in {f.rule for f in result.findings}


def test_config_map_kubelet_key_not_yaml() -> None:
    text = config_map("evictionHard: [unclosed\n")
    result = Run(Engine(build_policy(None))).add(next(iter_documents(text)).data, "cm.yaml", text)
    assert result is not None and result.problems and "not YAML" in result.problems[0].message


def test_lint_folder_with_kubeadm_flags_and_sysctl(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    examples = Path(__file__).resolve().parents[1] / "examples" / "node"
    for item in examples.iterdir():
        if item.suffix in (".yaml", ".env", ".conf"):
            (tmp_path / item.name).write_text(item.read_text())
    (tmp_path / "unrelated.conf").write_text("[section]\nkey = value\n")
    code = main(["lint", "--format", "json", str(tmp_path)])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and not data["errors"]
    found = {(Path(f["file"]).name, f["rule"], f["line"]) for f in data["findings"]}
    assert ("kubeadm-config.yaml", "OOM201", 13) in found
    assert ("kubelet.env", "OOM210", 2) in found
    assert ("99-kubernetes.conf", "OOM220", 3) in found
    facts = [o["facts"] for o in data["objects"] if "kubelet" in o["facts"]]
    assert facts and "evictionHard" in facts[0]["kubelet"]


def test_input_type_forces_sysctl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "settings.txt"
    f.write_text("vm.panic_on_oom=1\n")
    assert main(["lint", "--input-type", "sysctl", str(f)]) == 1
    assert "OOM220" in capsys.readouterr().out


def test_allocatable_fact_with_node_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".oomguard.yaml").write_text("node: {memory: 16Gi}\n")
    (tmp_path / "k.yaml").write_text(HEADER + "kubeReserved: {memory: 1Gi}\nsystemReserved: {memory: 1Gi}\n")
    main(["lint", "--format", "json", str(tmp_path / "k.yaml")])
    data = json.loads(capsys.readouterr().out)
    kubelet = data["objects"][0]["facts"]["kubelet"]
    assert kubelet["allocatableMemory"] == 16 * (1 << 30) - 2 * (1 << 30) - 100 * (1 << 20)
