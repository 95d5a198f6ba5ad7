"""The pure parsers of policies/incidents: cgroup paths of every driver and runtime, kernel
OOM lines of dmesg, dmesg -T and journalctl (cgroup v1 and v2, old and new kernels, cut
lines), kubelet eviction messages of both formats, scheduler and admission messages."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from oomguard.policies.incidents.cgroups import parse_cgroup
from oomguard.policies.incidents.events import normalize_event
from oomguard.policies.incidents.kernel import looks_like_kernel_log, parse_kernel_log
from oomguard.policies.incidents.kubelet import (
    admission_conditions,
    insufficient_memory,
    parse_eviction,
    system_oom,
)
from tests.diagnose_support import event_v1, event_v1beta, kernel_oom

UID = "5f0d8a7e-1c2b-4d3e-9f80-a1b2c3d4e5f6"
CID = "3b8e1f0c" * 8


@pytest.mark.parametrize(("path", "level", "qos", "driver", "runtime"), [
    (f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID.replace('-', '_')}"
     f".slice/cri-containerd-{CID}.scope", "container", "burstable", "systemd", "containerd"),
    (f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID.replace('-', '_')}"
     f".slice/crio-{CID}.scope", "container", "besteffort", "systemd", "cri-o"),
    (f"/kubepods.slice/kubepods-pod{UID.replace('-', '_')}.slice/docker-{CID}.scope",
     "container", "guaranteed", "systemd", "docker"),
    (f"/kubepods/burstable/pod{UID}/{CID}", "container", "burstable", "cgroupfs", None),
    (f"/kubepods/pod{UID}/{CID}", "container", "guaranteed", "cgroupfs", None),
    (f"/kubepods/burstable/pod{UID}", "pod", "burstable", "cgroupfs", None),
    (f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID.replace('-', '_')}"
     ".slice", "pod", "burstable", "systemd", None),
    ("/kubepods.slice", "kubepods", None, "systemd", None),
    ("/kubepods", "kubepods", None, "cgroupfs", None),
    ("/kubepods/besteffort", "qos", "besteffort", "cgroupfs", None),
    ("/kubepods.slice/kubepods-burstable.slice", "qos", "burstable", "systemd", None),
    (f"/system.slice/k3s.service/kubepods/burstable/pod{UID}/{CID}", "container", "burstable",
     "cgroupfs", None),
    ("/system.slice/containerd.service", "other", None, None, None),
    ("/", "root", None, None, None),
])
def test_cgroup_paths(path: str, level: str, qos: str | None, driver: str | None,
                      runtime: str | None) -> None:
    ref = parse_cgroup(path)
    assert (ref.level, ref.qos, ref.driver, ref.runtime) == (level, qos, driver, runtime)
    if level in ("container", "pod"):
        assert ref.pod_uid == UID
    if level == "container":
        assert ref.container_id == CID


@pytest.mark.parametrize("style", ["dmesg", "dmesg-T", "journal"])
def test_memcg_kill_in_each_log_format(style: str) -> None:
    container = f"/kubepods/burstable/pod{UID}/{CID}"
    text = "random line before\n" + kernel_oom(style=style, task_memcg=container,
                                                oom_memcg=container)
    assert looks_like_kernel_log(text)
    log = parse_kernel_log(text, "node.log", year=2026)
    assert len(log.kills) == 1 and log.notices == []
    kill = log.kills[0]
    assert (kill.constraint, kill.oom_memcg, kill.task_memcg, kill.task, kill.pid) == (
        "CONSTRAINT_MEMCG", container, container, "java", 41853)
    assert (kill.anon_rss, kill.oom_score_adj, kill.memcg_limit) == (301248 * 1024, 968,
                                                                   524288 * 1024)
    assert not kill.is_global
    if style == "journal":
        assert (kill.host, kill.time) == ("w-8xk2p", datetime(2026, 3, 27, 10, 51, 38,
                                                               tzinfo=timezone.utc))
    elif style == "dmesg":
        assert kill.time is None and kill.uptime and kill.uptime > 864213
    else:
        assert kill.time == datetime(2026, 3, 27, 10, 51, 38, tzinfo=timezone.utc)


def test_global_oom_and_pre_4_19_lines() -> None:
    victim = f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" \
             f"{UID.replace('-', '_')}.slice/cri-containerd-{CID}.scope"
    text = kernel_oom(style="journal", task_memcg=victim, oom_memcg=None,
                      constraint="CONSTRAINT_NONE")
    text += kernel_oom(style="journal", task_memcg=f"/kubepods/burstable/pod{UID}/{CID}",
                       oom_memcg=f"/kubepods/burstable/pod{UID}", legacy=True, pid=7)
    log = parse_kernel_log(text, "k.log", year=2026)
    first, second = log.kills
    assert first.is_global and first.global_oom and first.oom_memcg is None
    assert second.oom_memcg == f"/kubepods/burstable/pod{UID}" and second.pid == 7
    assert not second.is_global


def test_cut_lines_are_notices_and_the_rest_is_read() -> None:
    container = f"/kubepods/burstable/pod{UID}/{CID}"
    whole = kernel_oom(style="dmesg", task_memcg=container, oom_memcg=container)
    cut = whole.splitlines()
    summary = next(i for i, ln in enumerate(cut) if "oom-kill:" in ln)
    cut[summary] = cut[summary][:90]  # cut in the middle of oom_memcg=
    text = "\n".join(cut) + "\n" + whole.splitlines()[0][:40] + "\n"
    log = parse_kernel_log(text, "cut.log")
    assert len(log.kills) == 1
    assert [m for _, m in log.notices][0].startswith("oom-kill summary line cut short")


def test_eviction_messages_both_formats() -> None:
    old = parse_eviction("The node was low on resource: memory. Container cm was using "
                         "27484Ki, which exceeds its request of 0. ")
    new = parse_eviction("The node was low on resource: memory. Threshold quantity: 100Mi, "
                         "available: 87608Ki. Container cm was using 48458972Ki, request is "
                         "15Gi, has larger consumption of memory. ")
    assert old is not None and new is not None
    assert (old.format, old.containers[0].usage, old.containers[0].request) == (
        "exceeds-request", 27484 * 1024, 0)
    assert (new.format, new.threshold, new.available) == ("larger-consumption", 100 << 20,
                                                          87608 * 1024)
    assert (new.containers[0].name, new.containers[0].usage, new.containers[0].request) == (
        "cm", 48458972 * 1024, 15 << 30)
    disk = parse_eviction("The node was low on resource: ephemeral-storage. ")
    assert disk is not None and not disk.is_memory
    assert parse_eviction("Pod was terminated") is None


def test_admission_scheduler_and_system_oom_messages() -> None:
    assert admission_conditions("Pod was rejected: The node had condition: [MemoryPressure]. "
                                ) == ["MemoryPressure"]
    assert insufficient_memory("0/5 nodes are available: 3 Insufficient memory, 2 node(s) had "
                               "untolerated taint {node-role.kubernetes.io/control-plane: }. "
                               "preemption: 0/5 nodes are available") == (3, 5)
    assert insufficient_memory("0/3 nodes are available: 3 Insufficient cpu.") is None
    assert system_oom("System OOM encountered, victim process: java, pid: 41853") == (
        "java", 41853)
    assert system_oom("System OOM encountered") == (None, None)


def test_both_event_apis_normalize_alike() -> None:
    core = normalize_event(event_v1("p.1", "Evicted", "The node was low on resource: memory. ",
                                    count=3, obj_uid="u1"))
    new = normalize_event(event_v1beta("p.1", "Evicted",
                                       "The node was low on resource: memory. ",
                                       count=3, obj_uid="u1"))
    assert core is not None and new is not None
    assert (core.api, new.api) == ("v1", "events.k8s.io/v1")
    for record in (core, new):
        assert (record.object_name, record.object_uid, record.count, record.host) == (
            "p", "u1", 3, "w-8xk2p")
        assert record.last is not None and record.last.minute == 51
    assert core.uid == new.uid  # one object, two shapes
    untimed = event_v1("q.1", "Evicted", "x", first=None, last=None)
    record = normalize_event(untimed)
    assert record is not None and record.last is None
    assert normalize_event(event_v1("q.2", "Pulled", "image pulled")) is None
