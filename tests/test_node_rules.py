"""Node rules OOM201-OOM212, OOM220, OOM221 on their edge cases: codes, paths and lines."""

from __future__ import annotations

from typing import Any

import pytest

from oomguard.policies import node
from oomguard.policies.config import build_policy
from oomguard.policies.engine import Engine
from oomguard.policies.rule import Finding

HEADER = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
MERGE = "mergeDefaultEvictionSettings: true\n"
RECLAIM = "evictionMinimumReclaim: {memory.available: 100Mi}\n"
RESERVED = "kubeReserved: {memory: 1Gi}\n"


def findings(text: str, input_type: str, policy: dict[str, Any] | None = None,
             file: str = "node-file") -> list[Finding]:
    outcome = node.subjects_from_text(text, file, input_type)
    assert outcome is not None
    subjects, _ = outcome
    engine = Engine(build_policy(policy))
    return engine.evaluate_node_subjects(subjects, engine.context(), file, None).findings


def hits(text: str, input_type: str = "kubelet-config",
         policy: dict[str, Any] | None = None) -> set[tuple[str, str, int | None]]:
    """(code, path, line) of every finding."""
    return {(f.rule, f.path, f.line) for f in findings(text, input_type, policy)}


def codes(text: str, input_type: str = "kubelet-config",
          policy: dict[str, Any] | None = None) -> set[str]:
    return {f.rule for f in findings(text, input_type, policy)}


def config(*lines: str) -> str:
    return HEADER + "".join(line if line.endswith("\n") else line + "\n" for line in lines)


NODE_16GI = {"node": {"memory": "16Gi"}}


def test_a_sound_configuration_is_clean() -> None:
    text = config(MERGE, "evictionHard: {memory.available: 500Mi}", RECLAIM,
                  "kubeReserved: {memory: 2Gi}", "systemReserved: {memory: 1Gi}")
    assert codes(text, policy=NODE_16GI) == set()


def test_no_eviction_hard_gets_every_default() -> None:
    assert codes(config(RESERVED, RECLAIM)) == set()


# -- OOM201 kubelet-eviction-memory-missing ----------------------------------------------

def test_oom201_partial_eviction_hard_without_memory() -> None:
    text = config("evictionHard:", '  nodefs.available: "10%"')
    assert ("OOM201", "evictionHard", 3) in hits(text)


def test_oom201_empty_eviction_hard_disables_everything() -> None:
    assert {"OOM201", "OOM202"} <= codes(config("evictionHard: {}", RESERVED))


def test_oom201_null_eviction_hard_is_unset() -> None:
    assert not {"OOM201", "OOM202"} & codes(config("evictionHard:", RESERVED, RECLAIM))


@pytest.mark.parametrize("value,fires", [("0%", True), ("100%", True), ("0.0%", True),
                                         ("5%", False), ("500Mi", False)])
def test_oom201_zero_and_hundred_percent(value: str, fires: bool) -> None:
    text = config(MERGE, "evictionHard:", f'  memory.available: "{value}"', RESERVED, RECLAIM)
    assert (("OOM201", "evictionHard.memory.available", 5) in hits(text)) is fires


@pytest.mark.parametrize("merge,fires", [("true", False), ("false", True), (None, True)])
def test_oom201_merge_setting(merge: str | None, fires: bool) -> None:
    lines = [f"mergeDefaultEvictionSettings: {merge}"] if merge else []
    text = config(*lines, "evictionHard: {nodefs.available: 5%}", RESERVED, RECLAIM)
    assert ("OOM201" in codes(text)) is fires


def test_oom201_flag_replaces_defaults_even_with_merge_in_the_config() -> None:
    kubeadm = ("apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\n"
               "nodeRegistration:\n  kubeletExtraArgs:\n"
               "    eviction-hard: nodefs.available<10%\n---\n")
    text = kubeadm + config(MERGE, "evictionHard: {memory.available: 1Gi}", RESERVED, RECLAIM)
    assert ("OOM201", "evictionHard", 5) in hits(text)


def test_oom201_flags() -> None:
    assert ("OOM201", "evictionHard", 1) in hits(
        "--eviction-hard=nodefs.available<10%\n", "kubelet-flags")
    assert ("OOM201", "evictionHard.memory.available", 1) in hits(
        "--eviction-hard=memory.available<100%\n", "kubelet-flags")


def test_oom201_flag_file_without_eviction_hard_leaves_it_to_the_config_file() -> None:
    assert codes("KUBELET_EXTRA_ARGS=--kube-reserved=memory=1Gi\n", "kubelet-flags") == set()


# -- OOM202 kubelet-eviction-defaults-dropped ---------------------------------------------

def test_oom202_lists_the_dropped_defaults() -> None:
    [finding] = [f for f in findings(config("evictionHard: {memory.available: 500Mi}",
                                            RESERVED, RECLAIM), "kubelet-config")
                 if f.rule == "OOM202"]
    assert (finding.path, finding.line) == ("evictionHard", 3)
    for lost in ("nodefs.available<10%", "nodefs.inodesFree<5%", "imagefs.available<15%",
                 "imagefs.inodesFree<5%"):
        assert lost in finding.message
    assert "memory.available" not in finding.message


def test_oom202_all_defaults_written_or_merged() -> None:
    full = config("evictionHard:", "  memory.available: 500Mi", "  nodefs.available: 10%",
                  "  nodefs.inodesFree: 5%", "  imagefs.available: 15%",
                  "  imagefs.inodesFree: 5%", RESERVED, RECLAIM)
    assert "OOM202" not in codes(full)
    merged = config(MERGE, "evictionHard: {memory.available: 500Mi}", RESERVED, RECLAIM)
    assert "OOM202" not in codes(merged)


def test_oom202_explicit_zero_percent_is_not_dropped_by_omission() -> None:
    text = config("evictionHard:", "  memory.available: 500Mi", "  nodefs.available: 0%",
                  "  nodefs.inodesFree: 5%", "  imagefs.available: 15%",
                  "  imagefs.inodesFree: 5%", RESERVED, RECLAIM)
    assert "OOM202" not in codes(text)


def test_oom202_flags_replace_defaults() -> None:
    assert ("OOM202", "evictionHard", 1) in hits(
        "--eviction-hard=memory.available<500Mi\n", "kubelet-flags")


# -- OOM203 kubelet-eviction-memory-low ------------------------------------------------------

def test_oom203_quantity_below_min() -> None:
    text = config(MERGE, "evictionHard: {memory.available: 50Mi}", RESERVED, RECLAIM)
    assert ("OOM203", "evictionHard.memory.available", 4) in hits(text)


def test_oom203_min_parameter_and_the_default_threshold() -> None:
    text = config(RESERVED, RECLAIM)
    assert "OOM203" not in codes(text)  # the default 100Mi is not below 100Mi
    policy = {"rules": {"OOM203": {"min": "200Mi"}}}
    [finding] = [f for f in findings(text, "kubelet-config", policy) if f.rule == "OOM203"]
    assert "(the kubelet default)" in finding.message


@pytest.mark.parametrize("memory,fires", [(None, False), ("4Gi", True), ("64Gi", False)])
def test_oom203_percentage_needs_node_memory(memory: str | None, fires: bool) -> None:
    text = config(MERGE, 'evictionHard: {memory.available: "1%"}', RESERVED, RECLAIM)
    policy = {"node": {"memory": memory}} if memory else None
    assert ("OOM203" in codes(text, policy=policy)) is fires


def test_oom203_ignores_disabled_thresholds() -> None:
    text = config(MERGE, 'evictionHard: {memory.available: "0%"}', RESERVED, RECLAIM)
    assert "OOM203" not in codes(text, policy=NODE_16GI)


# -- OOM204 kubelet-eviction-soft-grace-missing ----------------------------------------------

def test_oom204_soft_without_grace() -> None:
    text = config("evictionSoft:", "  memory.available: 1Gi", "  nodefs.available: 15%",
                  "evictionSoftGracePeriod: {nodefs.available: 1m}", RESERVED, RECLAIM)
    found = hits(text)
    assert ("OOM204", "evictionSoft.memory.available", 4) in found
    assert not any(code == "OOM204" and "nodefs" in path for code, path, _ in found)


def test_oom204_dropped_soft_thresholds_need_no_grace() -> None:
    assert "OOM204" not in codes(config('evictionSoft: {memory.available: "0%"}', RESERVED,
                                        RECLAIM))


def test_oom204_grace_from_kubeadm_flags() -> None:
    kubeadm = ("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n"
               "nodeRegistration:\n  kubeletExtraArgs:\n"
               "  - {name: eviction-soft-grace-period, value: memory.available=30s}\n---\n")
    text = kubeadm + config("evictionSoft: {memory.available: 1Gi}", RESERVED, RECLAIM)
    assert "OOM204" not in codes(text)


def test_oom204_flags_partial_and_complete() -> None:
    assert "OOM204" not in codes("--eviction-soft=memory.available<1Gi\n", "kubelet-flags")
    assert ("OOM204", "evictionSoft.memory.available", 1) in hits(
        "kubelet --eviction-soft=memory.available<1Gi\n", "kubelet-flags")


# -- OOM205 kubelet-eviction-soft-not-above-hard ---------------------------------------------

SOFT = "evictionSoftGracePeriod: {memory.available: 1m}"


@pytest.mark.parametrize("hard,soft,memory,fires", [
    ("500Mi", "300Mi", None, True),
    ("500Mi", "500Mi", None, True),  # equal: never first
    ("500Mi", "1Gi", None, False),
    ('"10%"', '"5%"', None, True),  # both percentages: no node size needed
    ('"5%"', '"10%"', None, False),
    ("1Gi", '"5%"', None, False),  # mixed without node.memory: not judged
    ("1Gi", '"5%"', "8Gi", True),  # 5% of 8Gi = 409.6Mi <= 1Gi
    ("1Gi", '"5%"', "64Gi", False),
])
def test_oom205(hard: str, soft: str, memory: str | None, fires: bool) -> None:
    text = config(MERGE, f"evictionHard: {{memory.available: {hard}}}",
                  f"evictionSoft: {{memory.available: {soft}}}", SOFT, RESERVED, RECLAIM)
    policy = {"node": {"memory": memory}} if memory else None
    assert (("OOM205", "evictionSoft.memory.available", 5) in hits(text, policy=policy)) \
        is fires


# -- OOM206 kubelet-eviction-threshold-invalid ----------------------------------------------

def test_oom206_every_eviction_map() -> None:
    text = config("evictionHard:", "  memory.avail: 100Mi", '  nodefs.available: "-5%"',
                  '  imagefs.available: "150%"', "  memory.available: 0",
                  "evictionSoft: {memory.available: 1GB}",
                  "evictionSoftGracePeriod: {memory.available: 90 seconds, pid.available: -1m}",
                  "evictionMinimumReclaim: {memory.available: lots, nodefs.available: 0%}",
                  RESERVED)
    found = {(path, line) for code, path, line in hits(text) if code == "OOM206"}
    assert found >= {("evictionHard.memory.avail", 4), ("evictionHard.nodefs.available", 5),
                     ("evictionHard.imagefs.available", 6),
                     ("evictionHard.memory.available", 7),
                     ("evictionSoft.memory.available", 8),
                     ("evictionSoftGracePeriod.memory.available", 9),
                     ("evictionSoftGracePeriod.pid.available", 9),
                     ("evictionMinimumReclaim.memory.available", 10),
                     ("evictionMinimumReclaim.nodefs.available", 10)}


def test_oom206_a_map_that_is_not_a_map() -> None:
    assert ("OOM206", "evictionHard", 3) in hits(config('evictionHard: "memory.available<1Gi"'))


def test_oom206_flag_pairs_without_their_separator() -> None:
    found = findings("--eviction-hard=memory.available=100Mi\n"
                     "--eviction-soft-grace-period=memory.available:1m\n", "kubelet-flags")
    lines = {(f.rule, f.line, f.column) for f in found}
    assert ("OOM206", 1, 17) in lines and ("OOM206", 2, 30) in lines


def test_oom206_valid_settings_are_quiet() -> None:
    text = config(MERGE, "evictionHard: {memory.available: 1Gi, pid.available: 10%}",
                  "evictionSoft: {memory.available: 2Gi}", "evictionSoftGracePeriod: "
                  "{memory.available: 1m30s}", RECLAIM, RESERVED)
    assert "OOM206" not in codes(text)


# -- OOM207 kubelet-reserved-memory-missing ---------------------------------------------------

def test_oom207_nothing_reserved() -> None:
    found = findings(config("systemReserved: {cpu: 500m}", RECLAIM), "kubelet-config",
                     NODE_16GI)
    [oom207] = [f for f in found if f.rule == "OOM207"]
    assert (oom207.path, oom207.line) == ("systemReserved", 3)
    assert "16284Mi of 16Gi" in oom207.message  # 16Gi - the default 100Mi


@pytest.mark.parametrize("lines", [("systemReserved: {memory: 1Gi}",),
                                   ("kubeReserved: {memory: 512Mi}",)])
def test_oom207_either_reservation_is_enough(lines: tuple[str, ...]) -> None:
    assert "OOM207" not in codes(config(*lines, RECLAIM))


def test_oom207_zero_is_no_reservation() -> None:
    assert "OOM207" in codes(config("kubeReserved: {memory: '0'}", RECLAIM))


def test_oom207_invalid_reservations_refuse_to_start() -> None:
    text = config("systemReserved: {mem: 1Gi}", "kubeReserved: {memory: 1GB}", RECLAIM)
    found = hits(text)
    assert ("OOM207", "systemReserved.mem", 3) in found
    assert ("OOM207", "kubeReserved.memory", 4) in found


def test_oom207_flags_partial_and_complete() -> None:
    assert "OOM207" not in codes("--system-reserved=cpu=1\n", "kubelet-flags")
    assert ("OOM207", "systemReserved", 1) in hits(
        "/usr/bin/kubelet --system-reserved=cpu=1\n", "kubelet-flags")


# -- OOM208 kubelet-allocatable-not-enforced -------------------------------------------------

@pytest.mark.parametrize("value,fires", [('["none"]', True), ("[]", True),
                                         ('["system-reserved"]', True),
                                         ('["pods", "system-reserved"]', False)])
def test_oom208(value: str, fires: bool) -> None:
    text = config(f"enforceNodeAllocatable: {value}", "systemReservedCgroup: /system.slice",
                  RESERVED, RECLAIM)
    assert (("OOM208", "enforceNodeAllocatable", 3) in hits(text)) is fires


def test_oom208_default_is_pods_and_flags_can_drop_it() -> None:
    assert "OOM208" not in codes(config(RESERVED, RECLAIM))
    assert ("OOM208", "enforceNodeAllocatable", 1) in hits(
        '--enforce-node-allocatable=""\n', "kubelet-flags")


# -- OOM209 kubelet-enforce-allocatable-invalid ----------------------------------------------

@pytest.mark.parametrize("enforce,extra,path", [
    ('["pods", "pods"]', "", "enforceNodeAllocatable[1]"),
    ('["none", "pods"]', "", "enforceNodeAllocatable[0]"),
    ('["pods", "bogus"]', "", "enforceNodeAllocatable[1]"),
    ('["pods", "system-reserved"]', "", "enforceNodeAllocatable[1]"),
    ('["pods", "system-reserved-compressible"]', "", "enforceNodeAllocatable[1]"),
    ('["pods", "kube-reserved", "kube-reserved-compressible"]', "kubeReservedCgroup: /k",
     "enforceNodeAllocatable[2]"),
    ('["pods"]', "cgroupsPerQOS: false", "cgroupsPerQOS"),
    (None, "cgroupsPerQOS: false", "cgroupsPerQOS"),  # the default [pods] too
])
def test_oom209_fires(enforce: str | None, extra: str, path: str) -> None:
    lines = [f"enforceNodeAllocatable: {enforce}"] if enforce else []
    text = config(*lines, extra, RESERVED, RECLAIM)
    assert path in {p for code, p, _ in hits(text) if code == "OOM209"}


@pytest.mark.parametrize("enforce,extra", [
    ('["pods"]', ""),
    ('["pods", "system-reserved"]', "systemReservedCgroup: /system.slice"),
    ('["pods", "kube-reserved-compressible"]', "kubeReservedCgroup: /kube.slice"),
    ('["none"]', "cgroupsPerQOS: false"),  # none skips the QoS check
    ("[]", "cgroupsPerQOS: false"),
])
def test_oom209_quiet(enforce: str, extra: str) -> None:
    text = config(f"enforceNodeAllocatable: {enforce}", extra, RESERVED, RECLAIM)
    assert "OOM209" not in codes(text)


def test_oom209_flags() -> None:
    found = hits("kubelet --enforce-node-allocatable=pods,kube-reserved "
                 "--cgroups-per-qos=maybe\n", "kubelet-flags")
    assert ("OOM209", "enforceNodeAllocatable[1]", 1) in found
    assert ("OOM209", "cgroupsPerQOS", 1) in found
    # a cgroup set in the config file the flags sit on is not known here: no finding
    assert "OOM209" not in codes("--enforce-node-allocatable=pods,kube-reserved\n",
                                 "kubelet-flags")


# -- OOM210 kubelet-reserved-memory-mismatch --------------------------------------------------

STATIC = ("memoryManagerPolicy: Static", "kubeReserved: {memory: 1Gi}",
          "systemReserved: {memory: 1Gi}", RECLAIM)


def test_oom210_sums_every_numa_node() -> None:
    exact = config(*STATIC, "reservedMemory:", "- {numaNode: 0, limits: {memory: 1Gi}}",
                   "- {numaNode: 1, limits: {memory: 1124Mi}}")
    assert "OOM210" not in codes(exact)
    wrong = config(*STATIC, "reservedMemory:", "- {numaNode: 0, limits: {memory: 1Gi}}")
    [finding] = [f for f in findings(wrong, "kubelet-config") if f.rule == "OOM210"]
    assert (finding.path, finding.line) == ("reservedMemory", 7)
    assert finding.message.startswith("reservedMemory 1Gi != kubeReserved 1Gi + "
                                      "systemReserved 1Gi + hard eviction 100Mi = 2148Mi")


def test_oom210_static_without_reserved_memory() -> None:
    assert ("OOM210", "memoryManagerPolicy", 3) in hits(config(*STATIC))


def test_oom210_policy_none_is_not_checked() -> None:
    assert "OOM210" not in codes(config(RESERVED, RECLAIM, "reservedMemory:",
                                        "- {numaNode: 0, limits: {memory: 5Gi}}"))


def test_oom210_percentage_eviction_needs_node_memory() -> None:
    text = config(*STATIC, MERGE, 'evictionHard: {memory.available: "10%"}', "reservedMemory:",
                  "- {numaNode: 0, limits: {memory: 2Gi}}")
    assert "OOM210" not in codes(text)
    # 10% of 16Gi as the kubelet computes it: 1717986944 bytes, not 2Gi - 2Gi
    assert "OOM210" in codes(text, policy=NODE_16GI)
    exact = text.replace("memory: 2Gi}", "memory: '3865470592'}")
    assert "OOM210" not in codes(exact, policy=NODE_16GI)


def test_oom210_zero_and_duplicate_entries() -> None:
    text = config(*STATIC, "reservedMemory:", "- {numaNode: 0, limits: {memory: '0'}}",
                  "- {numaNode: 0, limits: {memory: 2148Mi}}")
    paths = {p for code, p, _ in hits(text) if code == "OOM210"}
    assert {"reservedMemory[0].limits.memory", "reservedMemory[1].limits.memory"} <= paths


def test_oom210_flags_vs_config() -> None:
    flags = ("kubelet --memory-manager-policy=Static --kube-reserved=memory=1Gi "
             "--system-reserved=memory=1Gi --reserved-memory '0:memory=1Gi;1:memory=1124Mi'\n")
    assert "OOM210" not in codes(flags, "kubelet-flags")
    assert "OOM210" in codes(flags.replace("1124Mi", "1Gi"), "kubelet-flags")
    # an env file fragment: kubeReserved may come from the config file, so no judgement
    partial = ("KUBELET_EXTRA_ARGS=\"--memory-manager-policy=Static "
               "--reserved-memory=0:memory=1Gi\"\n")
    assert "OOM210" not in codes(partial, "kubelet-flags")


# -- OOM211 kubelet-eviction-no-minimum-reclaim -----------------------------------------------

def test_oom211() -> None:
    # the default threshold is not written anywhere: the finding points at the document
    assert ("OOM211", "evictionHard.memory.available", 1) in hits(config(RESERVED))
    assert ("OOM211", "evictionMinimumReclaim", 4) in hits(
        config(RESERVED, "evictionMinimumReclaim: {nodefs.available: 1Gi}"))
    assert "OOM211" not in codes(config(RESERVED, RECLAIM))
    # no memory eviction at all: OOM201 says so, a minimum reclaim would be moot
    assert "OOM211" not in codes(config(RESERVED, "evictionHard: {nodefs.available: 10%}"))


# -- OOM212 kubelet-reserved-below-recommended ------------------------------------------------

def test_oom212_tiers() -> None:
    from decimal import Decimal

    from oomguard.policies.rules.oom212_kubelet_reserved_below_recommended import recommended

    gi = Decimal(1 << 30)
    assert recommended(Decimal(2) * gi) == Decimal("0.5") * gi
    assert recommended(Decimal(16) * gi) == Decimal("2.6") * gi
    assert recommended(Decimal(128) * gi) == (Decimal("2.6") + Decimal("6.72")) * gi
    assert recommended(Decimal(256) * gi) == (Decimal("9.32") + Decimal("2.56")) * gi


@pytest.mark.parametrize("memory,reserved,fires", [
    (None, "256Mi", False),  # off without node.memory
    ("16Gi", "2Gi", True),  # 2Gi < 2.6Gi
    ("16Gi", "2663Mi", False),  # 2.6Gi is 2662.4Mi
    ("4Gi", "1Gi", False),  # exactly 25% of 4Gi
    ("4Gi", "1023Mi", True),
])
def test_oom212(memory: str | None, reserved: str, fires: bool) -> None:
    text = config(f"kubeReserved: {{memory: {reserved}}}", RECLAIM)
    policy = {"node": {"memory": memory}} if memory else None
    assert (("OOM212", "kubeReserved.memory", 3) in hits(text, policy=policy)) is fires


def test_oom212_sums_both_reservations() -> None:
    text = config("kubeReserved: {memory: 1Gi}", "systemReserved: {memory: 2Gi}", RECLAIM)
    assert "OOM212" not in codes(text, policy=NODE_16GI)


# -- OOM220 node-panic-on-oom, OOM221 node-overcommit-memory ----------------------------------

@pytest.mark.parametrize("text,line", [
    ("vm.panic_on_oom = 1\n", 1), ("vm.panic_on_oom=2\n", 1), ("vm/panic_on_oom = 1\n", 1),
    ("-vm.panic_on_oom = 1\n", 1), ("# x\n  vm.panic_on_oom =   1   \n", 2),
    ("vm.panic_on_oom = 0\nvm.panic_on_oom = 1\n", 2), ("vm.panic_on_* = 1\n", 1),
])
def test_oom220_fires(text: str, line: int) -> None:
    assert ("OOM220", "vm.panic_on_oom", line) in hits(text, "sysctl")


@pytest.mark.parametrize("text", ["vm.panic_on_oom = 0\n", "vm.panic_on_oom = 1\n"
                                  "vm.panic_on_oom = 0\n", "kernel.panic = 10\n",
                                  "# vm.panic_on_oom = 1\n", "; vm.panic_on_oom = 1\n"])
def test_oom220_quiet(text: str) -> None:
    assert "OOM220" not in codes(text, "sysctl")


@pytest.mark.parametrize("value,fires", [("1", False), ("0", True), ("2", True),
                                         ("1   ", False), ("yes", True)])
def test_oom221(value: str, fires: bool) -> None:
    assert (("OOM221", "vm.overcommit_memory", 2) in hits(
        f"# tuning\nvm.overcommit_memory = {value}\n", "sysctl")) is fires


def test_sysctl_messages_say_what_the_kubelet_does() -> None:
    [panic] = findings("vm.panic_on_oom = 1\n", "sysctl")
    assert "the kubelet sets 0 at start-up" in panic.message
    assert "protectKernelDefaults" in panic.message and "reload" in panic.message
