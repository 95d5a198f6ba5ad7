"""Node inputs read as the kubelet and sysctl read them: thresholds, durations, flags,
sysctl lines, and content detection."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oomguard.policies.node.detect import detect_text_type, looks_like_node_text
from oomguard.policies.node.flags import apply_flags, flags_from_kubeadm, scan_flags
from oomguard.policies.node.kubelet import KubeletSettings
from oomguard.policies.node.sysctl import integer_value, lookup, normalize_key, parse_sysctl
from oomguard.policies.node.thresholds import (
    grace_period_error,
    minimum_reclaim_error,
    parse_go_duration,
    parse_threshold,
)
from oomguard.policies.source import iter_documents

GI = 1 << 30


# -- thresholds (pkg/kubelet/eviction/helpers.go parseThresholdStatement) ------------------

@pytest.mark.parametrize("signal,value,ok", [
    ("memory.available", "100Mi", True),
    ("memory.available", "1.5Gi", True),
    ("memory.available", "5%", True),
    ("memory.available", "5.5%", True),
    ("memory.available", "5%%", True),  # parsePercentage trims every trailing %
    ("memory.available", "1e1%", True),  # Go float syntax
    ("memory.available", "100.0%", True),  # only the exact text "100%" is dropped
    ("memory.available", "0", False),  # must be positive
    ("memory.available", "-1Mi", False),
    ("memory.available", "1GB", False),  # not a Kubernetes quantity
    ("memory.available", "1 Gi", False),
    ("memory.available", "-5%", False),
    ("memory.available", "101%", False),
    ("memory.available", "abc%", False),
    ("memory.available", " 5%", False),  # the config file is not trimmed
    ("memory.available", "NaN%", False),
    ("memory.avail", "1Gi", False),  # unknown signal
    ("pid.available", "10%", True),
    ("allocatableMemory.available", "1Gi", True),
    ("containerfs.inodesFree", "5%", True),
])
def test_threshold_statement(signal: str, value: str, ok: bool) -> None:
    assert (parse_threshold(signal, value).error is None) is ok


@pytest.mark.parametrize("value", ["0%", "100%"])
def test_zero_and_hundred_percent_are_dropped(value: str) -> None:
    threshold = parse_threshold("memory.available", value)
    assert threshold.ignored and threshold.disabled and threshold.error is None


def test_zero_point_zero_percent_is_kept_but_never_crossed() -> None:
    threshold = parse_threshold("memory.available", "0.0%")
    assert not threshold.ignored and threshold.disabled


def test_a_number_is_not_a_string() -> None:
    assert "not a string" in (parse_threshold("memory.available", 100).error or "")


def test_percentage_to_bytes_uses_float32_like_the_kubelet() -> None:
    # int64(float64(16Gi) * float64(float32(10)/100)): float32(0.1) is a little above 0.1
    threshold = parse_threshold("memory.available", "10%")
    assert threshold.bytes_for(Decimal(16 * GI)) == Decimal(1717986944)
    assert threshold.bytes_for(None) is None
    assert parse_threshold("memory.available", "1Gi").bytes_for(None) == GI


# -- grace periods and minimum reclaims --------------------------------------------------

@pytest.mark.parametrize("text,nanos", [
    ("90s", 90 * 10**9), ("1m30s", 90 * 10**9), ("1.5h", 5400 * 10**9), ("0", 0),
    ("-0", 0), ("300ms", 3 * 10**8), ("1\u00b5s", 1000), ("1\u03bcs", 1000), (".5s", 5 * 10**8),
])
def test_go_durations(text: str, nanos: int) -> None:
    assert parse_go_duration(text) == nanos


@pytest.mark.parametrize("text", ["", "90", "90 seconds", "1d", "s", "1m 30s", "+"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_go_duration(text)


def test_grace_period_rules() -> None:
    assert grace_period_error("memory.available", "1m30s") is None
    assert "negative" in (grace_period_error("memory.available", "-1m") or "")
    assert "unsupported" in (grace_period_error("memory.avail", "1m") or "")
    assert "not a duration" in (grace_period_error("memory.available", "soon") or "")


@pytest.mark.parametrize("value,ok", [("100Mi", True), ("0", True), ("5%", True),
                                      ("0%", False), ("-1Mi", False), ("lots", False)])
def test_minimum_reclaim_rules(value: str, ok: bool) -> None:
    assert (minimum_reclaim_error("memory.available", value) is None) is ok


# -- flags ---------------------------------------------------------------------------------

def test_systemd_drop_in_with_continuations_keeps_each_flags_line() -> None:
    text = ('[Service]\n'
            'Environment="KUBELET_KUBEADM_ARGS=--eviction-hard=memory.available<50Mi"\n'
            'ExecStart=/usr/bin/kubelet \\\n'
            '  --kube-reserved=memory=1Gi \\\n'
            '  --eviction-soft memory.available<1Gi\n')
    scan = scan_flags(text)
    assert not scan.problems
    assert [(f.name, f.position) for f in scan.flags] == [
        ("eviction-hard", (2, 35)), ("kube-reserved", (4, 3)), ("eviction-soft", (5, 3))]
    assert scan.flags[2].value == "memory.available<1Gi"
    assert scan.invocation == (3, 11) and scan.complete


def test_env_file_quotes_comments_and_underscores() -> None:
    text = ("# /etc/default/kubelet\n"
            "export KUBELET_EXTRA_ARGS='--eviction_hard=memory.available<1Gi#x "
            "--system-reserved \"memory=1Gi\"' # trailing comment\n")
    scan = scan_flags(text)
    assert [(f.name, f.value) for f in scan.flags] == [
        ("eviction-hard", "memory.available<1Gi#x"), ("system-reserved", "memory=1Gi")]
    assert not scan.complete  # no kubelet command line: other fields come from elsewhere


def test_dangling_quote_is_reported_and_the_line_still_read() -> None:
    scan = scan_flags('KUBELET_EXTRA_ARGS="--eviction-hard=memory.available<0%\n'
                      "--kube-reserved=memory=1Gi\n")
    assert [(p.line, p.column) for p in scan.problems] == [(1, 20)]
    assert [f.name for f in scan.flags] == ["eviction-hard", "kube-reserved"]


def test_bool_flags_take_no_separate_value() -> None:
    scan = scan_flags("kubelet --cgroups-per-qos false --protect-kernel-defaults\n")
    settings = KubeletSettings(complete=scan.complete)
    apply_flags(settings, scan.flags)
    assert settings.fields["cgroupsPerQOS"] is True
    assert settings.fields["protectKernelDefaults"] is True


@pytest.mark.parametrize("text,complete", [
    ("/usr/bin/kubelet --eviction-hard=memory.available<1Gi\n", True),
    ("ExecStart=-/usr/bin/kubelet --eviction-hard=memory.available<1Gi\n", True),
    ("/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml --kube-reserved=memory=1Gi\n",
     False),
    ("ExecStart=/usr/bin/kubelet $KUBELET_EXTRA_ARGS --kube-reserved=memory=1Gi\n", False),
    ("--kube-reserved=memory=1Gi\n", False),
    ("EnvironmentFile=-/etc/default/kubelet\nKUBELET_EXTRA_ARGS=--kube-reserved=memory=1Gi\n",
     False),
])
def test_only_a_whole_command_line_is_complete(text: str, complete: bool) -> None:
    assert scan_flags(text).complete is complete


def test_map_flags_replace_then_accumulate_and_report_malformed_pairs() -> None:
    settings = KubeletSettings({"evictionHard": {"imagefs.available": "15%"}})
    scan = scan_flags('"--eviction-hard=memory.available<1Gi, nodefs.available=10%" '
                      "--eviction-hard=pid.available<5%\n")
    overlay = apply_flags(settings, scan.flags)
    assert settings.fields["evictionHard"] == {"memory.available": "1Gi",
                                               "pid.available": "5%"}
    assert overlay.locate(("evictionHard", "pid.available")) == (1, 78)
    [problem] = settings.flag_problems
    assert (problem.field, problem.line, problem.column) == ("evictionHard", 1, 40)
    assert "malformed pair 'nodefs.available=10%'" in problem.message


def test_enforce_node_allocatable_list_flag() -> None:
    settings = KubeletSettings({"enforceNodeAllocatable": ["pods"]})
    apply_flags(settings, scan_flags("--enforce-node-allocatable=system-reserved "
                                     "--enforce-node-allocatable=kube-reserved\n").flags)
    assert settings.fields["enforceNodeAllocatable"] == ["system-reserved", "kube-reserved"]
    empty = KubeletSettings()
    apply_flags(empty, scan_flags('--enforce-node-allocatable=""\n').flags)
    assert empty.fields["enforceNodeAllocatable"] == []


def test_reserved_memory_flag_format() -> None:
    settings = KubeletSettings()
    overlay = apply_flags(settings, scan_flags(
        "--reserved-memory '0:memory=1Gi,hugepages-2Mi=2Gi;1:memory=2Gi' "
        "--reserved-memory 2:memory=1Gi\n").flags)
    assert settings.fields["reservedMemory"] == [
        {"numaNode": 0, "limits": {"memory": "1Gi", "hugepages-2Mi": "2Gi"}},
        {"numaNode": 1, "limits": {"memory": "2Gi"}},
        {"numaNode": 2, "limits": {"memory": "1Gi"}}]
    assert overlay.locate(("reservedMemory", 1, "limits", "memory")) == (1, 53)
    assert not settings.flag_problems


@pytest.mark.parametrize("value,needle", [
    ("0:memory=1Gi;", "not numaNode"), ("x:memory=1Gi", "not an integer"),
    ("0:cpu=1", "unknown memory type"), ("0:memory=lots", "not a quantity"),
    ("0:memory", "not type=quantity"),
])
def test_bad_reserved_memory_flags(value: str, needle: str) -> None:
    settings = KubeletSettings()
    apply_flags(settings, scan_flags(f"--reserved-memory={value}\n").flags)
    assert any(needle in p.message for p in settings.flag_problems)


def test_kubeadm_extra_args_map_and_list_forms() -> None:
    v1beta3 = next(iter_documents("kubeletExtraArgs:\n  eviction-hard: memory.available<1Gi\n"
                                  "  node-ip: 10.0.0.1\n")).data["kubeletExtraArgs"]
    assert [(f.name, f.value, f.position) for f in flags_from_kubeadm(v1beta3)] == [
        ("eviction-hard", "memory.available<1Gi", (2, 3))]
    v1beta4 = next(iter_documents(
        "kubeletExtraArgs:\n- name: node-ip\n  value: 10.0.0.1\n"
        "- name: kube-reserved\n  value: memory=1Gi\n")).data["kubeletExtraArgs"]
    assert [(f.name, f.value, f.position) for f in flags_from_kubeadm(v1beta4)] == [
        ("kube-reserved", "memory=1Gi", (4, 3))]


# -- sysctl files ---------------------------------------------------------------------------

@pytest.mark.parametrize("key,normal", [
    ("vm.panic_on_oom", "vm.panic_on_oom"), ("vm/panic_on_oom", "vm.panic_on_oom"),
    ("net/ipv4/conf/eth0.100/rp_filter", "net.ipv4.conf.eth0/100.rp_filter"),
    ("net.ipv4.conf.eth0/100.rp_filter", "net.ipv4.conf.eth0/100.rp_filter"),
])
def test_sysctl_key_separators(key: str, normal: str) -> None:
    assert normalize_key(key) == normal


def test_sysctl_lines() -> None:
    text = ("# comment\n; other comment\n  vm/panic_on_oom =   2   \n"
            "-vm.overcommit_memory=1\nnet.ipv4.ip_local_port_range = 1024 65535\n"
            "kernel.panic 10\nvm.panic_on_oom = 0 # not a comment\n")
    entries, problems = parse_sysctl(text)
    assert [(p.line, p.column) for p in problems] == [(6, 1)]
    panic = lookup(entries, "vm.panic_on_oom")
    assert panic is not None and (panic.line, panic.value) == (7, "0 # not a comment")
    assert integer_value(panic.value) == 0
    ports = lookup(entries, "net.ipv4.ip_local_port_range")
    assert ports is not None and ports.value == "1024 65535"
    overcommit = lookup(entries, "vm.overcommit_memory")
    assert overcommit is not None and (overcommit.written, overcommit.column) == (
        "-vm.overcommit_memory", 1)
    first = entries[0]
    assert (first.line, first.column, first.value_column) == (3, 3, 23)


def test_sysctl_globs_and_exclusions() -> None:
    entries, _ = parse_sysctl("vm.panic_on_* = 1\n")
    assert lookup(entries, "vm.panic_on_oom") is not None
    entries, _ = parse_sysctl("vm.panic_on_* = 1\n!vm.panic_on_oom = 0\n")
    assert lookup(entries, "vm.panic_on_oom") is None
    entries, _ = parse_sysctl("vm.panic_on_oom = 2\nvm.panic_on_* = 0\n")
    found = lookup(entries, "vm.panic_on_oom")
    assert found is not None and found.value == "2"  # explicit beats glob


# -- detection -----------------------------------------------------------------------------

@pytest.mark.parametrize("text,kind", [
    ("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n",
     "kubelet-config"),
    ('{"kind": "KubeletConfiguration", "apiVersion": "kubelet.config.k8s.io/v1beta1"}',
     "kubelet-config"),
    ("KUBELET_EXTRA_ARGS=--eviction-hard=memory.available<1Gi\n", "kubelet-flags"),
    ("KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///run/c.sock\"\n",
     "kubelet-flags"),
    ("[Service]\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_ARGS\n", "kubelet-flags"),
    ("vm.panic_on_oom = 1\n", "sysctl"),
    ("# tuning\nnet.core.somaxconn=1024\nfs.file-max = 100000\n", "sysctl"),
    ("[section]\nkey = value\n", None),
    ("server {\n  listen 80;\n}\n", None),
    ("apiVersion: v1\nkind: Pod\n", None),
    ("timeout = 5\nretries = 3\n", None),
])
def test_detection_by_content(text: str, kind: str | None) -> None:
    assert detect_text_type(text) == kind
    assert looks_like_node_text(text) is (kind is not None)
