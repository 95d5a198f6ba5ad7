"""Node inputs as documents: kubeadm multi-document configs, the kubelet-config ConfigMap,
drop-ins, suppressions, facts and bad input."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from oomguard.linter.runner import Report, lint_text
from oomguard.policies import node
from oomguard.policies.config import build_policy
from oomguard.policies.engine import Engine
from oomguard.policies.node.kubelet import KubeletSettings
from oomguard.policies.source import iter_documents

HEADER = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
GI = 1 << 30


def lint_file(text: str, policy: dict[str, Any] | None = None, name: str = "f.yaml"
              ) -> Report:
    """A YAML file through the linter's runner."""
    return lint_text(text, build_policy(policy), name)


def found(report: Report) -> set[tuple[str, int | None, int | None]]:
    return {(f.rule, f.line, f.column) for f in report.findings}


# -- kubeadm ----------------------------------------------------------------------------

KUBEADM = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
nodeRegistration:
  kubeletExtraArgs:
  - name: node-ip
    value: 10.0.0.1
  - name: eviction-hard
    value: memory.available<50Mi,nodefs.available<10%
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.34.0
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
mergeDefaultEvictionSettings: true
evictionHard:
  memory.available: 500Mi
kubeReserved: {memory: 1Gi}
evictionSoft: {memory.available: 1Gi}
"""


def test_kubeadm_documents_are_recognised_and_extra_args_override_the_config() -> None:
    docs = [d.data for d in iter_documents(KUBEADM)]
    assert node.subjects_from_document(docs[0], "k.yaml", KUBEADM) == []
    assert node.subjects_from_document(docs[1], "k.yaml", KUBEADM) == []
    [subject] = node.subjects_from_document(docs[2], "k.yaml", KUBEADM) or []
    facts = subject.facts()["kubelet"]
    assert facts["evictionHard"] == {"memory.available": "50Mi", "nodefs.available": "10%"}
    assert facts["evictionHardFrom"] == "flags"
    assert "InitConfiguration" in facts["input"]
    hits = found(lint_file(KUBEADM))
    assert ("OOM203", 7, 5) in hits  # the flag's entry in InitConfiguration
    assert ("OOM202", 7, 5) in hits  # a flag replaces the defaults, merge or not
    assert ("OOM204", 20, 16) in hits  # the KubeletConfiguration's own line


def test_kubeadm_v1beta3_map_without_a_kubelet_configuration() -> None:
    text = ("apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\nnodeRegistration:\n"
            "  kubeletExtraArgs:\n    eviction-hard: \"memory.available<0%\"\n")
    report = lint_file(text)
    assert [o["object"]["kind"] for o in report.objects] == ["JoinConfiguration"]
    assert ("OOM201", 5, 5) in found(report)
    # joining nodes take the cluster's kubelet-config: reservations are not known here
    assert "OOM207" not in {rule for rule, _, _ in found(report)}
    init = lint_file(text.replace("JoinConfiguration", "InitConfiguration"))
    assert "OOM207" in {rule for rule, _, _ in found(init)}  # init: kubelet defaults
    # without memory flags there is nothing to lint
    assert node.subjects_from_document(next(iter_documents(
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n")).data, None) == []


def test_kubelet_configuration_of_another_group_is_not_ours() -> None:
    assert node.subjects_from_document({"apiVersion": "example.com/v1",
                                        "kind": "KubeletConfiguration"}, None) is None
    assert node.subjects_from_document({"apiVersion": "v1", "kind": "Pod"}, None) is None
    assert node.subjects_from_document(["not", "a", "map"], None) is None


# -- ConfigMap kube-system/kubelet-config ---------------------------------------------------

def config_map(kubelet: str, style: str = "|", annotations: str = "") -> str:
    body = "\n".join("    " + line if line else "" for line in kubelet.splitlines())
    return ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kubelet-config\n"
            f"  namespace: kube-system\n{annotations}data:\n  kubelet: {style}\n{body}\n")


def test_config_map_block_lines_and_columns_point_into_the_file() -> None:
    text = config_map(HEADER + "evictionHard:\n  nodefs.available: 10%\n")
    hits = found(lint_file(text))
    assert ("OOM201", 10, 5) in hits  # `evictionHard:` inside the block, 4 spaces in


def test_config_map_explicit_indentation_indicator() -> None:
    text = config_map(HEADER + "evictionHard: {nodefs.available: 10%}\n", style="|2-")
    # |2 below `  kubelet:` means 4 spaces of indentation
    assert ("OOM201", 10, 5) in found(lint_file(text))


def test_config_map_quoted_string_points_at_the_key() -> None:
    kubelet = json.dumps(HEADER + "evictionHard: {nodefs.available: 10%}\n")
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kubelet-config, "
            f"namespace: kube-system}}\ndata:\n  kubelet: {kubelet}\n")
    assert ("OOM201", 5, 3) in found(lint_file(text))


def test_config_map_old_kubeadm_name_and_other_config_maps() -> None:
    text = config_map(HEADER + "evictionHard: {}\n").replace("kubelet-config\n",
                                                              "kubelet-config-1.23\n")
    assert "OOM201" in {rule for rule, _, _ in found(lint_file(text))}
    other = text.replace("kubelet-config-1.23", "my-settings")
    assert node.subjects_from_document(next(iter_documents(other)).data, None, other) is None


def test_config_map_suppressions_from_annotation_and_embedded_comment() -> None:
    annotations = ("  annotations:\n    oomguard.io/ignore: OOM202\n"
                   "    oomguard.io/ignore-reason: disk eviction is handled elsewhere\n")
    kubelet = "# oomguard: ignore=OOM207 reserved by the image\n" + HEADER + \
        "evictionHard: {nodefs.available: 10%}\n"
    rules = {rule for rule, _, _ in found(lint_file(config_map(kubelet,
                                                              annotations=annotations)))}
    assert "OOM201" in rules and not {"OOM202", "OOM207"} & rules


def test_config_map_from_json_without_positions() -> None:
    kubelet = "# oomguard: ignore=OOM207 managed by the cloud image\n" + HEADER
    obj = json.loads(json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                 "metadata": {"name": "kubelet-config",
                                              "namespace": "kube-system"},
                                 "data": {"kubelet": kubelet}}))
    result = Engine(build_policy(None)).evaluate_object(obj, text=json.dumps(obj))
    assert result is not None
    rules = {f.rule for f in result.findings}
    assert "OOM207" not in rules and "OOM211" in rules


@pytest.mark.parametrize("kubelet,needle", [
    ("evictionHard: [unclosed\n", "not YAML"),
    ("apiVersion: v1\nkind: Pod\n", "holds a Pod"),
    ("just some words\n", "holds a str"),
])
def test_config_map_kubelet_key_that_is_not_a_kubelet_configuration(kubelet: str,
                                                                    needle: str) -> None:
    text = config_map(kubelet) + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n" \
        "spec:\n  containers: [{name: a, image: x}]\n"
    report = lint_file(text)
    [problem] = report.errors
    assert needle in problem.message and problem.line is not None and problem.line >= 8
    assert "OOM101" in {f.rule for f in report.findings}  # the rest is still linted


def test_config_map_kubelet_key_not_a_string() -> None:
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kubelet-config, "
            "namespace: kube-system}\ndata:\n  kubelet:\n    evictionHard: {}\n")
    report = lint_file(text)
    assert [(p.line, "must be a string" in p.message) for p in report.errors] == [(5, True)]


# -- text files ---------------------------------------------------------------------------

def test_forced_kubelet_config_accepts_a_bare_document() -> None:
    outcome = node.subjects_from_text("evictionHard: {nodefs.available: 10%}\n", "c",
                                      "kubelet-config")
    assert outcome is not None and len(outcome[0]) == 1


def test_forced_kubelet_config_reports_other_kinds_and_syntax_errors() -> None:
    text = "apiVersion: v1\nkind: Pod\n---\nevictionHard: a: b\n---\n" + HEADER
    outcome = node.subjects_from_text(text, "c", "kubelet-config")
    assert outcome is not None
    subjects, problems = outcome
    assert len(subjects) == 1 and [p.line for p in problems] == [1, 4]


def test_manifest_input_type_is_not_node_text() -> None:
    assert node.subjects_from_text("vm.panic_on_oom = 1\n", "f", "manifest") is None
    assert node.subjects_from_text("apiVersion: v1\nkind: Pod\n", "f") is None


def test_drop_in_sets_only_what_it_writes(tmp_path: Path) -> None:
    folder = tmp_path / "kubelet.conf.d"
    folder.mkdir()
    text = HEADER + "evictionHard:\n  memory.available: 50Mi\n"
    outcome = node.subjects_from_text(text, str(folder / "10-eviction.conf"))
    assert outcome is not None
    engine = Engine(build_policy(None))
    result = engine.evaluate_node_subjects(outcome[0], engine.context(), "d", None)
    # merged key by key into the base configuration: nothing is dropped or missing
    assert {f.rule for f in result.findings} == {"OOM203"}
    plain = node.subjects_from_text(text, str(tmp_path / "config.conf"))
    assert plain is not None
    result = engine.evaluate_node_subjects(plain[0], engine.context(), "d", None)
    assert {"OOM202", "OOM207"} <= {f.rule for f in result.findings}


def test_flag_file_and_sysctl_bad_lines_are_problems_with_lines() -> None:
    outcome = node.subjects_from_text('KUBELET_EXTRA_ARGS="--eviction-hard=memory.available'
                                      '<0%\n', "kubelet.env")
    assert outcome is not None
    subjects, problems = outcome
    assert [(p.line, p.column) for p in problems] == [(1, 20)] and len(subjects) == 1
    outcome = node.subjects_from_text("vm.panic_on_oom = 1\nvm.swappiness\n", "s.conf")
    assert outcome is not None
    assert [p.line for p in outcome[1]] == [2]


# -- suppressions --------------------------------------------------------------------------

def test_comment_suppression_in_flag_and_sysctl_files() -> None:
    engine = Engine(build_policy(None))
    outcome = node.subjects_from_text(
        "# oomguard: ignore=OOM220,OOM221 lab node, crash dumps wanted\nvm.panic_on_oom = 1\n",
        "s.conf")
    assert outcome is not None
    result = engine.evaluate_node_subjects(outcome[0], engine.context(), "s.conf", None)
    # OOM220 suppressed; the ignore of OOM221 suppressed nothing
    assert [(f.rule, f.line) for f in result.findings] == [("OOM001", 1)]
    flags = node.subjects_from_text("# oomguard: ignore=kubelet-eviction-defaults-dropped x\n"
                                    "--eviction-hard=memory.available<1Gi\n", "f.env")
    assert flags is not None
    result = engine.evaluate_node_subjects(flags[0], engine.context(), "f.env", None)
    assert "OOM202" not in {f.rule for f in result.findings}


def test_comment_suppression_applies_to_its_own_document_only() -> None:
    text = ("# oomguard: ignore=OOM207 reserved by systemd slices\n" + HEADER +
            "evictionMinimumReclaim: {memory.available: 1Gi}\n---\n" + HEADER +
            "evictionMinimumReclaim: {memory.available: 1Gi}\n")
    report = lint_file(text)
    second = text.splitlines().index("---") + 1  # the second document starts below it
    assert [(f.rule, (f.line or 0) > second) for f in report.findings] == [("OOM207", True)]


# -- model and facts ----------------------------------------------------------------------

def test_defaulting() -> None:
    unset = KubeletSettings()
    assert unset.effective_hard() == {"memory.available": "100Mi", "nodefs.available": "10%",
                                      "nodefs.inodesFree": "5%", "imagefs.available": "15%",
                                      "imagefs.inodesFree": "5%"}
    assert unset.enforced() == ["pods"] and unset.flag("cgroupsPerQOS", True) is True
    assert unset.memory_manager_policy() == "None"
    assert KubeletSettings({"evictionHard": {}}).effective_hard() == {}
    merged = KubeletSettings({"evictionHard": {"memory.available": "1Gi"},
                              "mergeDefaultEvictionSettings": True}).effective_hard()
    assert merged is not None and merged["memory.available"] == "1Gi" and len(merged) == 5
    partial = KubeletSettings(complete=False)
    assert partial.effective_hard() is None and partial.enforced() is None
    assert partial.reserved("kubeReserved") is None


def test_facts_are_json_and_resolve_percentages_with_node_memory() -> None:
    text = HEADER + ("mergeDefaultEvictionSettings: true\nevictionHard: {memory.available: 5%}\n"
                     "kubeReserved: {memory: 1Gi}\nsystemReserved: {memory: 512Mi}\n")
    [subject] = node.subjects_from_document(next(iter_documents(text)).data, "k", text) or []
    assert hasattr(subject, "facts_for")
    bare = subject.facts()["kubelet"]
    json.dumps(bare)
    assert bare["hardMemoryAvailable"]["bytes"] is None and "node.memory" in \
        bare["hardMemoryAvailable"]["note"]
    assert bare["kubeReservedMemory"] == {"value": "1Gi", "bytes": GI}
    assert "allocatableMemory" not in bare
    sized = subject.facts_for(Decimal(16 * GI))["kubelet"]  # type: ignore[attr-defined]
    json.dumps(sized)
    eviction = int(16 * GI * 0.05000000074505806)  # float32(5)/100, as the kubelet has it
    assert sized["hardMemoryAvailable"]["bytes"] == eviction
    assert sized["allocatableMemory"] == 16 * GI - GI - GI // 2 - eviction


def test_facts_of_a_flag_fragment_name_what_comes_from_elsewhere() -> None:
    outcome = node.subjects_from_text("KUBELET_EXTRA_ARGS=\"--config=/var/lib/kubelet/c.yaml "
                                      "--kube-reserved=memory=1Gi\"\n", "kubelet.env")
    assert outcome is not None
    facts = outcome[0][0].facts()["kubelet"]
    assert facts["configFile"] == "/var/lib/kubelet/c.yaml"
    assert "evictionHard" in facts["notInThisInput"] and facts["evictionHard"] is None
    assert facts["kubeReservedMemory"]["bytes"] == GI
