"""oomguard diagnose over files: every incident type from real-shaped pod status, events of
both APIs and kernel lines (cgroupfs and systemd, cgroup v1 and v2), the hard cases, the JSON
contract, the text report and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oomguard.cli import main
from tests.diagnose_support import (
    container_status,
    deployment,
    event_v1,
    event_v1beta,
    kernel_oom,
    kubectl_list,
    node,
    pod,
    replica_set,
    uid,
)
from tests.diagnose_support.objects import cid, terminated

GI, MI = 1 << 30, 1 << 20


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["diagnose", "--format", "json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def dump(tmp_path: Path, *items: dict[str, Any], name: str = "dump.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(kubectl_list(*items), indent=4))
    return str(path)


def types(report: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(i["type"], i["pod"]) for i in report["incidents"]]


def oom_pod(name: str, *, limit: str | None = "512Mi", request: str = "256Mi",
            runtime: str = "containerd", **kwargs: Any) -> dict[str, Any]:
    resources: dict[str, Any] = {"requests": {"memory": request}}
    if limit:
        resources["limits"] = {"memory": limit}
    last_id = f"{runtime}://{cid(name + '/last')}"
    return pod(name, containers=[{"name": "app", "image": "app:1", "resources": resources}],
               statuses=[container_status(
                   "app", pod_name=name, restarts=4, runtime=runtime,
                   state={"waiting": {"reason": "CrashLoopBackOff",
                                      "message": "back-off 2m40s restarting failed container"}},
                   last=terminated("OOMKilled", 137, "2026-03-27T10:51:39Z",
                                   container_id=last_id))], **kwargs)


def systemd_path(pod_uid: str, container_id: str, qos: str = "burstable",
                 runtime: str = "cri-containerd") -> str:
    u = pod_uid.replace("-", "_")
    return (f"/kubepods.slice/kubepods-{qos}.slice/kubepods-{qos}-pod{u}.slice/"
            f"{runtime}-{container_id}.scope")


# -- OOM kills --------------------------------------------------------------------------------
def test_container_limit_oom_cgroupfs_v1_kernel_line(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    name = "api-6d4cf56db6-tx2lm"
    path = f"/kubepods/burstable/pod{uid(name)}/{cid(name + '/last')}"
    (tmp_path / "w-8xk2p.log").write_text(kernel_oom(style="journal", task_memcg=path,
                                                     oom_memcg=path, anon_kb=520000))
    code, report = run(capsys, dump(tmp_path, node("w-8xk2p"), oom_pod(name)),
                       str(tmp_path / "w-8xk2p.log"))
    assert code == 1
    (incident,) = report["incidents"]
    assert (incident["type"], incident["confidence"], incident["node"]) == (
        "container-limit-oom", "certain", "w-8xk2p")
    assert incident["containers"] == [{"name": "app", "init": False, "request": 256 * MI,
                                       "limit": 512 * MI, "usage": (520000 + 21132) * 1024}]
    assert any(e["source"].startswith("kernel ") and "oom-kill:constraint=CONSTRAINT_MEMCG"
               in e["text"] for e in incident["evidence"])
    assert incident["time"] == "2026-03-27T10:51:38Z"


def test_container_limit_oom_systemd_v2_crio(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    name = "worker-0"
    path = systemd_path(uid(name), cid(name + "/last"), runtime="crio")
    (tmp_path / "k.txt").write_text(kernel_oom(style="dmesg", task_memcg=path, oom_memcg=path))
    code, report = run(capsys, dump(tmp_path, node("w-8xk2p"),
                                    oom_pod(name, runtime="cri-o")), str(tmp_path / "k.txt"))
    assert types(report) == [("container-limit-oom", name)]
    assert report["incidents"][0]["confidence"] == "certain"


def test_container_limit_oom_from_status_alone_is_likely(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run(capsys, dump(tmp_path, node("w-8xk2p"), oom_pod("api-0")))
    (incident,) = report["incidents"]
    assert (incident["type"], incident["confidence"]) == ("container-limit-oom", "likely")


def test_pod_limit_oom(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "batch-7"
    obj = oom_pod(name, limit=None, pod_resources={"limits": {"memory": "1Gi"}})
    pod_cg = f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" \
             f"{uid(name).replace('-', '_')}.slice"
    (tmp_path / "w-8xk2p").write_text(kernel_oom(
        style="dmesg-T", task_memcg=systemd_path(uid(name), cid(name + "/last")),
        oom_memcg=pod_cg))
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p"), obj), str(tmp_path / "w-8xk2p"))
    assert types(report) == [("pod-limit-oom", name)]
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p"), obj))  # no kernel log
    assert types(report) == [("pod-limit-oom", name)]


def test_oom_killed_far_below_its_limit_because_node_allocatable_was_full(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "web-5c9f7d8b4-q8wz2"
    victim = systemd_path(uid(name), cid(name + "/last"))
    (tmp_path / "w-8xk2p.journal").write_text(kernel_oom(
        style="journal", task_memcg=victim, oom_memcg="/kubepods.slice", anon_kb=180000,
        adj=985, usage_kb=15242312, limit_kb=15242312))
    code, report = run(capsys, dump(tmp_path, node("w-8xk2p"),
                                    oom_pod(name, limit="2Gi", request="128Mi")),
                       str(tmp_path / "w-8xk2p.journal"))
    (incident,) = report["incidents"]
    assert incident["type"] == "node-allocatable-oom"
    assert incident["containers"][0]["limit"] == 2 * GI
    assert incident["containers"][0]["usage"] < 256 * MI
    assert "oom_score_adj 985" in incident["cause"]


def test_burstable_container_with_a_limit_killed_by_a_global_oom(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "cache-1"
    victim = f"/kubepods/burstable/pod{uid(name)}/{cid(name + '/last')}"
    (tmp_path / "node.log").write_text(kernel_oom(style="journal", task_memcg=victim,
                                                  oom_memcg=None,
                                                  constraint="CONSTRAINT_NONE"))
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p"), oom_pod(name, limit="4Gi")),
                    str(tmp_path / "node.log"))
    (incident,) = report["incidents"]
    assert (incident["type"], incident["confidence"]) == ("system-oom", "certain")
    assert incident["containers"][0]["limit"] == 4 * GI


def test_system_oom_from_a_node_event_at_the_termination_time(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ev = event_v1("w-8xk2p.18a0c", "SystemOOM",
                  "System OOM encountered, victim process: java, pid: 41853", kind="Node",
                  obj_name="w-8xk2p", last="2026-03-27T10:51:41Z")
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p"), oom_pod("cache-2"), ev))
    (incident,) = report["incidents"]
    assert (incident["type"], incident["confidence"]) == ("system-oom", "likely")
    assert any("SystemOOM" in e["source"] for e in incident["evidence"])


def test_node_oom_without_own_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p"), oom_pod("nolimit-0", limit=None)))
    assert types(report) == [("node-oom", "nolimit-0")]


def test_init_container_oom_in_init_crashloopbackoff(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "migrate-84d9f"
    init = {"name": "migrate", "image": "flyway:10",
            "resources": {"requests": {"memory": "64Mi"}, "limits": {"memory": "64Mi"}}}
    obj = pod(name, phase="Pending", init_containers=[init],
              init_statuses=[container_status(
                  "migrate", pod_name=name, restarts=6,
                  state={"waiting": {"reason": "CrashLoopBackOff"}},
                  last=terminated("OOMKilled", 137, "2026-03-27T10:49:02Z"))],
              statuses=[container_status("app", pod_name=name,
                                         state={"waiting": {"reason": "PodInitializing"}})])
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p"), obj))
    (incident,) = report["incidents"]
    assert incident["type"] == "container-limit-oom"
    assert incident["containers"] == [{"name": "migrate", "init": True, "request": 64 * MI,
                                       "limit": 64 * MI, "usage": None}]
    assert any(e["text"].startswith("Init:CrashLoopBackOff") for e in incident["evidence"])


# -- SIGKILL that is no OOM -------------------------------------------------------------------
def test_137_from_a_liveness_probe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "slow-api-0"
    obj = pod(name, statuses=[container_status(
        "app", pod_name=name, restarts=3,
        last=terminated("Error", 137, "2026-03-27T10:45:10Z"))])
    probe = event_v1(f"{name}.17f", "Unhealthy", "Liveness probe failed: Get "
                     "\"http://10.244.3.41:8080/healthz\": context deadline exceeded",
                     obj_name=name, obj_uid=uid(name), count=9,
                     field_path="spec.containers{app}")
    kill = event_v1beta(f"{name}.180", "Killing", "Container app failed liveness probe, "
                        "will be restarted", obj_name=name, obj_uid=uid(name))
    code, report = run(capsys, dump(tmp_path, node("w-8xk2p"), obj, probe, kill))
    (incident,) = report["incidents"]
    assert (incident["type"], incident["confidence"]) == ("sigkill-not-oom", "certain")
    assert "liveness probe" in incident["cause"]
    assert code == 1


def test_137_without_any_evidence_is_a_possible_manual_kill(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    obj = pod("k-0", statuses=[container_status("app", pod_name="k-0",
                                                last=terminated("Error", 137,
                                                                "2026-03-27T10:45:10Z"))])
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p"), obj))
    assert [(i["type"], i["confidence"]) for i in report["incidents"]] == [
        ("sigkill-not-oom", "possible")]


def test_137_with_a_kernel_record_is_an_oom(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Kernel evidence outranks the status (a child process killed, reason Error)."""
    name = "k-1"
    last_id = f"containerd://{cid(name + '/last')}"
    obj = pod(name, statuses=[container_status("app", pod_name=name, last=terminated(
        "Error", 137, "2026-03-27T10:51:39Z", container_id=last_id))])
    path = f"/kubepods/burstable/pod{uid(name)}/{cid(name + '/last')}"
    (tmp_path / "w-8xk2p.log").write_text(kernel_oom(style="journal", task_memcg=path,
                                                     oom_memcg=path))
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p"), obj), str(tmp_path / "w-8xk2p.log"))
    assert types(report) == [("container-limit-oom", name)]


# -- kubelet and scheduler --------------------------------------------------------------------
NEW_FORMAT = ("The node was low on resource: memory. Threshold quantity: 100Mi, available: "
              "87608Ki. Container cm was using 48458972Ki, request is 15Gi, has larger "
              "consumption of memory. ")
OLD_FORMAT = ("The node was low on resource: memory. Container cm was using 27484Ki, which "
              "exceeds its request of 0. ")


@pytest.mark.parametrize("message", [NEW_FORMAT, OLD_FORMAT])
def test_eviction_from_status_both_formats(message: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    name = "cm-77ffc657cf-4z7wb"
    containers = [{"name": "cm", "image": "cm:3", "resources": {"requests": {"memory": "15Gi"}}}]
    obj = pod(name, phase="Failed", reason="Evicted", message=message, containers=containers,
              owner=("ReplicaSet", "cm-77ffc657cf"), statuses=[container_status(
                  "cm", pod_name=name, state={"terminated": {
                      "exitCode": 137, "reason": "ContainerStatusUnknown",
                      "finishedAt": "2026-03-27T10:51:40Z"}})],
              conditions=[{"type": "DisruptionTarget", "status": "True",
                           "reason": "TerminationByKubelet", "message": message,
                           "lastTransitionTime": "2026-03-27T10:51:40Z"}])
    code, report = run(capsys, dump(tmp_path, node("w-8xk2p", pressure=True), obj,
                                    replica_set("cm-77ffc657cf", "cm"), deployment("cm")))
    assert code == 1
    incidents = [i for i in report["incidents"] if i["type"] == "eviction"]
    (incident,) = incidents
    assert incident["owner"] == {"kind": "Deployment", "name": "cm"}
    usage = 48458972 * 1024 if message is NEW_FORMAT else 27484 * 1024
    assert incident["containers"][0]["usage"] == usage
    assert incident["time"] == "2026-03-27T10:51:40Z"
    assert {p["rule"] for p in incident["prevention"]} >= {"OOM101"}
    assert report["nodes"][0]["memoryPressure"] is True


def test_evicted_besteffort_pod_gets_oom110_and_oom102(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    obj = pod("be-0", phase="Failed", reason="Evicted", message=OLD_FORMAT.replace("cm", "app"),
              containers=[{"name": "app", "image": "app:1"}], qos="BestEffort")
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p"), obj))
    (incident,) = report["incidents"]
    assert {"OOM110", "OOM102"} <= {p["rule"] for p in incident["prevention"]}


def test_evicted_pod_already_deleted_events_only_both_apis(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "cm-77ffc657cf-4z7wb"
    core = event_v1(f"{name}.18a0c1", "Evicted", NEW_FORMAT, obj_name=name,
                    obj_uid=uid(name), annotations={"offending_containers": "cm",
                                                    "offending_containers_usage": "48458972Ki",
                                                    "starved_resource": "memory"})
    new = event_v1beta(f"{name}.18a0c1", "Evicted", NEW_FORMAT, obj_name=name,
                       obj_uid=uid(name))  # the same event through events.k8s.io/v1
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p"), core, new,
                                 deployment("cm", containers=[{"name": "cm", "image": "cm:3"}])))
    (incident,) = report["incidents"]
    assert (incident["type"], incident["pod"], incident["count"]) == ("eviction", name, 1)
    assert incident["owner"] == {"kind": "Deployment", "name": "cm"}
    assert "no longer exists" in incident["cause"]
    assert incident["containers"] == []
    assert "OOM101" in {p["rule"] for p in incident["prevention"]}  # the Deployment's template


def test_eviction_event_v1beta_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ev = event_v1beta("gone-0.1", "Evicted", OLD_FORMAT, obj_name="gone-0", count=2,
                      event_time="2026-03-27T10:40:00.000000Z",
                      series_last="2026-03-27T10:50:00.000000Z")
    _, report = run(capsys, dump(tmp_path, ev))
    (incident,) = report["incidents"]
    assert (incident["type"], incident["count"], incident["time"]) == (
        "eviction", 2, "2026-03-27T10:50:00Z")


def test_admission_rejected_under_memory_pressure(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    obj = pod("besteffort-x", phase="Failed", reason="Evicted",
              message="Pod was rejected: The node had condition: [MemoryPressure]. ",
              containers=[{"name": "app", "image": "app:1"}], qos="BestEffort", statuses=[])
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p", pressure=True), obj))
    assert types(report) == [("admission-rejected", "besteffort-x")]
    assert "OOM110" in {p["rule"] for p in report["incidents"][0]["prevention"]}


def test_unschedulable_insufficient_memory_gets_oom108(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    containers = [{"name": "db", "image": "postgres:16",
                   "resources": {"requests": {"memory": "20Gi"}, "limits": {"memory": "20Gi"}}}]
    message = ("0/5 nodes are available: 5 Insufficient memory. preemption: 0/5 nodes are "
               "available: 5 No preemption victims found for incoming pod.")
    obj = pod("db-0", node_name=None, phase="Pending", containers=containers, qos="Guaranteed",
              conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                           "message": message, "lastTransitionTime": "2026-03-27T10:30:00Z"}])
    ev = event_v1("db-0.17", "FailedScheduling", message, obj_name="db-0", obj_uid=uid("db-0"),
                  count=14, component="default-scheduler", host=None)
    _, report = run(capsys, dump(tmp_path, node("w-1"), node("w-2", "32Gi", "15Gi"), obj, ev))
    (incident,) = report["incidents"]
    assert (incident["type"], incident["node"], incident["count"]) == ("unschedulable", None, 14)
    assert "5 of 5 nodes" in incident["cause"]
    assert "OOM108" in {p["rule"] for p in incident["prevention"]}


def test_jvm_oom_gets_oom130(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    obj = oom_pod("jvm-0")
    obj["spec"]["containers"][0]["env"] = [{"name": "JAVA_TOOL_OPTIONS", "value": "-Xmx1g"}]
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p"), obj))
    assert "OOM130" in {p["rule"] for p in report["incidents"][0]["prevention"]}


# -- contract, report, filters ----------------------------------------------------------------
def test_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p"), oom_pod("c-0", limit="2Gi")))
    assert list(report) == ["incidents", "nodes", "errors", "notices"]
    assert list(report["incidents"][0]) == [
        "type", "namespace", "pod", "owner", "node", "containers", "time", "count",
        "confidence", "cause", "evidence", "prevention", "advice"]
    assert list(report["nodes"][0]) == ["name", "capacity", "allocatable", "requested",
                                        "limits", "memoryPressure", "incidents"]
    assert report["nodes"][0] == {"name": "w-8xk2p", "capacity": 16393288 * 1024,
                                  "allocatable": 15242312 * 1024, "requested": 256 * MI,
                                  "limits": 2 * GI, "memoryPressure": False, "incidents": 1}
    assert report["incidents"][0]["prevention"][0]["rule"] == "OOM104"
    assert list(report["incidents"][0]["prevention"][0]) == ["rule", "severity", "message",
                                                             "path"]


def test_json_report_streamed_is_the_document_orjson_prints(tmp_path: Path) -> None:
    import orjson

    from oomguard.linter.incident_report import json_chunks
    from oomguard.linter.snapshot import load_files
    from oomguard.policies.config import load_policy
    from oomguard.policies.engine import Engine
    from oomguard.policies.incidents import diagnose
    from oomguard.policies.incidents.model import Diagnosis

    path = dump(tmp_path, node("w-8xk2p"), oom_pod("c-0", limit="2Gi"), oom_pod("c-1"),
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})
    diagnosis = diagnose(load_files([path]), Engine(load_policy(None)))
    assert len(diagnosis.incidents) == 2 and diagnosis.notices
    for shown in (diagnosis, Diagnosis([], [])):
        whole = orjson.dumps(shown.to_json(), option=orjson.OPT_INDENT_2) + b"\n"
        assert b"".join(json_chunks(shown)) == whole


def test_text_report_groups_by_owner_newest_first(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    a = oom_pod("api-6d4cf56db6-aaaaa", limit="2Gi", owner=("ReplicaSet", "api-6d4cf56db6"),
                labels={"app": "api", "pod-template-hash": "6d4cf56db6"})
    b = oom_pod("api-6d4cf56db6-bbbbb", limit="2Gi", owner=("ReplicaSet", "api-6d4cf56db6"),
                labels={"app": "api", "pod-template-hash": "6d4cf56db6"})
    b["status"]["containerStatuses"][0]["lastState"]["terminated"]["finishedAt"] = \
        "2026-03-27T11:00:00Z"
    code = main(["diagnose", dump(tmp_path, node("w-8xk2p"), a, b)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("Deployment ci/api: 2 incidents\n")
    assert out.index("api-6d4cf56db6-bbbbb") < out.index("api-6d4cf56db6-aaaaa")
    assert "why: The container's own memory limit" in out
    assert "oomguard would have flagged:" in out
    assert out.rstrip().endswith("2 incidents (2 container-limit-oom).")


def test_filters_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = dump(tmp_path, node("w-8xk2p"), oom_pod("c-0"))
    assert run(capsys, path, "--type", "eviction")[0] == 0
    assert run(capsys, path, "--fail-on", "eviction,unschedulable")[0] == 0
    assert run(capsys, path, "--fail-on", "none")[0] == 0
    assert run(capsys, path, "--min-confidence", "certain")[1]["incidents"] == []
    assert main(["diagnose", path, "--type", "oops"]) == 2
    assert "unknown incident type oops" in capsys.readouterr().err
    quiet = dump(tmp_path, node("w-8xk2p"), pod("fine-0"), name="fine.json")
    assert main(["diagnose", quiet]) == 0
    assert "No memory incidents found." in capsys.readouterr().out


def test_since_drops_older_evidence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = dump(tmp_path, node("w-8xk2p"), oom_pod("c-0"))
    assert run(capsys, path, "--since", "2026-03-27T11:00:00Z")[1]["incidents"] == []
    assert len(run(capsys, path, "--since", "2026-03-27T10:00:00Z")[1]["incidents"]) == 1
    assert main(["diagnose", path, "--since", "yesterday"]) == 2


def test_node_findings_from_an_annotated_kubelet_configuration(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
              "metadata": {"annotations": {"oomguard.io/node": "w-8xk2p"}},
              "evictionHard": {"nodefs.available": "10%"}}
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p"), oom_pod("c-0"), config))
    rules = {p["rule"]: p["path"] for p in report["incidents"][0]["prevention"]}
    assert "OOM201" in rules and rules["OOM201"].startswith("node w-8xk2p")


def test_dmesg_node_comes_from_the_file_name(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    victim = "/system.slice/containerd.service"
    (tmp_path / "w-8xk2p.dmesg").write_text(kernel_oom(
        style="dmesg", task_memcg=victim, oom_memcg=None, constraint="CONSTRAINT_NONE",
        task="containerd", adj=-999))
    _, report = run(capsys, dump(tmp_path, node("w-8xk2p")), str(tmp_path / "w-8xk2p.dmesg"))
    (incident,) = report["incidents"]
    assert (incident["type"], incident["node"], incident["pod"]) == ("system-oom", "w-8xk2p",
                                                                    None)
    assert report["nodes"][0]["incidents"] == 1
