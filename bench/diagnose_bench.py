"""Benchmark `oomguard diagnose` over generated clusters of 1,000, 10,000 and 150,000 pods.

Usage: python bench/diagnose_bench.py [--sizes 1000,10000,150000] [--yaml-sizes 1000,10000]
                                      [--runs 1] [--keep DIR]

A cluster has one node per 30 pods (150,000 pods: 5,000 nodes, the Kubernetes scalability
limits), ReplicaSets and Deployments owning the pods, and events in proportion: per 1,000
pods 20 OOM kills, 10 evictions (half of them pods already deleted, events only), 5 Pending
for memory, 5 liveness kills, and 300 ordinary events (Scheduled, Pulled, Started) that the
diagnosis must read and drop. Every figure is a whole process (interpreter start included),
started and waited for here: wall time (median of --runs) and peak RSS from wait4's rusage.
Sources are byte-compiled first, as a pip install leaves them.

Figures: JSON input (`kubectl get -o json` shape), YAML input (`-o yaml` block style), live
mode (the real kubernetes client against tests/kube_stub over TLS, 500 items a page), and
the floor: a process that only parses the JSON file with orjson (cyclic GC off, as in
oomguard diagnose). Ratios: time per 10x pods
(target <= 11x), JSON time / orjson time (target <= 3x), live peak RSS at the largest size /
at the smallest (target: flat, bounded by the page size).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from precompile import compile_sources  # sibling script module: bench/ is sys.path[0]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the floor at its fastest: without the cyclic GC, which rescans every parsed object as a
# large dump grows (with it, orjson alone takes 60 s on the 150,000-pod dump)
ORJSON_ONLY = ("import gc, orjson, sys\ngc.disable()\n"
               "orjson.loads(open(sys.argv[1], 'rb').read())\n")
EVICTION = ("The node was low on resource: memory. Threshold quantity: 100Mi, available: "
            "87608Ki. Container app was using 1848972Ki, request is 256Mi, has larger "
            "consumption of memory. ")


def measure(argv: list[str], runs: int) -> tuple[float, float]:
    times: list[float] = []
    peak = 0.0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        peak = max(peak, usage.ru_maxrss / 1024)
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} exited {code}")
    return statistics.median(times), peak


def cluster(pods: int) -> list[dict[str, Any]]:
    """Nodes, owners, pods and events of a cluster of ``pods`` pods (kubectl's item shape)."""
    nodes = max(1, pods // 30)
    items: list[dict[str, Any]] = []
    for n in range(nodes):
        items.append({"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": f"w-{n:05d}", "uid": f"node-{n}", "labels": {
                "kubernetes.io/hostname": f"w-{n:05d}", "node.kubernetes.io/instance-type":
                "m6i.xlarge", "topology.kubernetes.io/zone": f"eu-west-1{'abc'[n % 3]}"}},
            "status": {"capacity": {"cpu": "4", "memory": "16393288Ki", "pods": "110"},
                       "allocatable": {"cpu": "3920m", "memory": "15242312Ki", "pods": "110"},
                       "conditions": [{"type": "MemoryPressure", "status": "False",
                                       "reason": "KubeletHasSufficientMemory",
                                       "lastTransitionTime": "2026-03-20T08:00:00Z"},
                                      {"type": "Ready", "status": "True",
                                       "reason": "KubeletReady",
                                       "lastTransitionTime": "2026-03-20T08:00:00Z"}]}})
    apps = max(1, pods // 10)
    for a in range(apps):
        ns = f"team-{a % 40}"
        items.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
            "name": f"app-{a}", "namespace": ns, "uid": f"dep-{a}"}, "spec": {
            "replicas": 10, "selector": {"matchLabels": {"app": f"app-{a}"}},
            "template": {"metadata": {"labels": {"app": f"app-{a}"}}, "spec": {
                "containers": [container(a)]}}}})
        items.append({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
            "name": f"app-{a}-7d9c8b6f4", "namespace": ns, "uid": f"rs-{a}",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                 "name": f"app-{a}", "uid": f"dep-{a}", "controller": True}]},
            "spec": {"replicas": 10, "selector": {"matchLabels": {"app": f"app-{a}"}},
                     "template": {"spec": {"containers": [container(a)]}}}})
    for p in range(pods):
        items.extend(pod_and_events(p, nodes))
    return items


def container(a: int) -> dict[str, Any]:
    resources: dict[str, Any] = {"requests": {"cpu": "100m", "memory": "256Mi"},
                                 "limits": {"memory": "512Mi"}}
    if a % 7 == 0:
        resources = {}
    return {"name": "app", "image": f"registry.example.com/app-{a}:1.4.{a % 9}",
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "env": [{"name": "LOG_LEVEL", "value": "info"}],
            "resources": resources,
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                              "periodSeconds": 10, "timeoutSeconds": 1,
                              "failureThreshold": 3},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}


def pod_and_events(p: int, nodes: int) -> list[dict[str, Any]]:
    a = p // 10
    ns, name = f"team-{a % 40}", f"app-{a}-7d9c8b6f4-{p:05d}"[:-5] + _suffix(p)
    uid = f"{p:08x}-0000-4000-8000-{p:012x}"
    node = f"w-{p % nodes:05d}"
    kind = p % 1000
    state: dict[str, Any] = {"running": {"startedAt": "2026-03-27T09:00:10Z"}}
    last: dict[str, Any] = {}
    status: dict[str, Any] = {"phase": "Running", "qosClass": "Burstable",
                              "hostIP": "10.0.3.17", "podIP": "10.244.3.41",
                              "startTime": "2026-03-27T09:00:05Z",
                              "conditions": [{"type": "Ready", "status": "True",
                                              "lastTransitionTime": "2026-03-27T09:00:12Z"},
                                             {"type": "PodScheduled", "status": "True",
                                              "lastTransitionTime": "2026-03-27T09:00:00Z"}]}
    events: list[dict[str, Any]] = []
    spec_node: str | None = node
    if kind < 20:
        state = {"waiting": {"reason": "CrashLoopBackOff"}}
        last = {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                               "startedAt": "2026-03-27T10:40:00Z",
                               "finishedAt": "2026-03-27T10:51:39Z",
                               "containerID": f"containerd://{p:064x}"}}
    elif kind < 25:
        status.update(phase="Failed", reason="Evicted", message=EVICTION)
    elif kind < 30:
        events.append(_event(p, ns, name, uid, "Evicted", EVICTION, node))
        name, uid = name + "x", uid[:-1] + "f"  # the evicted pod is gone; a new one runs
    elif kind < 35:
        spec_node = None
        message = "0/5000 nodes are available: 5000 Insufficient memory."
        status = {"phase": "Pending", "qosClass": "Burstable", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": message, "lastTransitionTime": "2026-03-27T10:00:00Z"}]}
        events.append(_event(p, ns, name, uid, "FailedScheduling", message, None))
    elif kind < 40:
        last = {"terminated": {"exitCode": 137, "reason": "Error",
                               "finishedAt": "2026-03-27T10:45:00Z"}}
        events.append(_event(p, ns, name, uid, "Unhealthy", "Liveness probe failed: Get "
                             "\"http://10.244.3.41:8080/healthz\": context deadline exceeded",
                             node))
    for i in range(3 if kind % 10 == 0 else 0):
        events.append(_event(p * 10 + i, ns, name, uid, ("Scheduled", "Pulled", "Started")[i],
                             "Successfully assigned / pulled / started", node))
    if status.get("phase") != "Pending":
        status["containerStatuses"] = [{
            "name": "app", "image": f"registry.example.com/app-{a}:1.4.{a % 9}",
            "imageID": f"registry.example.com/app-{a}@sha256:{p:064x}",
            "containerID": f"containerd://{p + 1:064x}", "ready": True, "started": True,
            "restartCount": 4 if last else 0, "state": state, "lastState": last}]
    spec: dict[str, Any] = {"containers": [container(a)], "restartPolicy": "Always",
                            "dnsPolicy": "ClusterFirst", "serviceAccountName": "default",
                            "terminationGracePeriodSeconds": 30,
                            "schedulerName": "default-scheduler"}
    if spec_node:
        spec["nodeName"] = spec_node
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": name, "namespace": ns, "uid": uid, "resourceVersion": str(48151623 + p),
        "creationTimestamp": "2026-03-27T09:00:00Z",
        "labels": {"app": f"app-{a}", "pod-template-hash": "7d9c8b6f4"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                             "name": f"app-{a}-7d9c8b6f4", "uid": f"rs-{a}",
                             "controller": True, "blockOwnerDeletion": True}]},
        "spec": spec, "status": status}
    return [pod, *events]


def _suffix(p: int) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    out = ""
    for _ in range(5):
        p, r = divmod(p, len(alphabet))
        out += alphabet[r]
    return out


def _event(n: int, ns: str, name: str, uid: str, reason: str, message: str,
           host: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{name}.{n:016x}", "namespace": ns, "uid": f"ev-{n}-{reason}"},
        "involvedObject": {"kind": "Pod", "namespace": ns, "name": name, "uid": uid,
                           "apiVersion": "v1"},
        "reason": reason, "message": message, "type": "Warning", "count": 1,
        "firstTimestamp": "2026-03-27T10:51:40Z", "lastTimestamp": "2026-03-27T10:51:40Z",
        "source": {"component": "kubelet"}}
    if host:
        out["source"]["host"] = host
    return out


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML as kubectl prints it (strings double-quoted: JSON's escapes)."""
    import json

    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return " {}\n"
        out = "\n"
        for key, item in value.items():
            out += f"{pad}{key}:" + _scalar_or_block(item, indent + 2)
        return out
    if isinstance(value, list):
        if not value:
            return " []\n"
        out = "\n"
        for item in value:
            body = _scalar_or_block(item, indent + 2)
            out += f"{pad}-" + (" " + body.lstrip() if isinstance(item, dict) and item
                                else body)
        return out
    return " " + json.dumps(value) + "\n"


def _scalar_or_block(item: Any, indent: int) -> str:
    return to_yaml(item, indent)


def write_dumps(pods: int, folder: Path, yaml: bool) -> None:
    import orjson

    items = cluster(pods)
    doc = {"apiVersion": "v1", "kind": "List", "items": items,
           "metadata": {"resourceVersion": ""}}
    (folder / f"cluster-{pods}.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    if yaml:
        (folder / f"cluster-{pods}.yaml").write_text(
            "apiVersion: v1\nitems:" + to_yaml(items, 0)
            + "kind: List\nmetadata:\n  resourceVersion: \"\"\n")


def serve(dump: Path, folder: Path) -> int:
    """Serve a dump's items from tests/kube_stub until stdin closes (its own process: a
    measured child's peak RSS includes its parent's at fork, so the parent stays small)."""
    import orjson

    from tests.kube_stub import serving

    items = orjson.loads(dump.read_bytes())["items"]
    with serving(folder) as stub:
        stub.add(*items)
        del items
        print(stub.kubeconfig(folder / "kubeconfig"), flush=True)
        sys.stdin.read()
    return 0


def helper(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,150000")
    parser.add_argument("--yaml-sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--generate", nargs=3, metavar=("PODS", "DIR", "YAML"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs=2, metavar=("DUMP", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generate:
        write_dumps(int(args.generate[0]), Path(args.generate[1]), args.generate[2] == "yes")
        return 0
    if args.serve:
        return serve(Path(args.serve[0]), Path(args.serve[1]))
    compile_sources()  # once, here: the --generate/--serve helpers need no bytecode pass
    sizes = [int(s) for s in args.sizes.split(",")]
    yaml_sizes = {int(s) for s in args.yaml_sizes.split(",") if s}
    oomguard = [sys.executable, "-m", "oomguard", "diagnose", "--format", "json",
                "--max-file-size", "4Gi", "-o", os.devnull]
    results: dict[str, dict[int, tuple[float, float]]] = {"json": {}, "yaml": {}, "orjson": {},
                                                           "live": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for pods in sizes:
            subprocess.run(helper("--generate", str(pods), str(folder),
                                  "yes" if pods in yaml_sizes else "no"), check=True)
            json_path = folder / f"cluster-{pods}.json"
            yaml_path = folder / f"cluster-{pods}.yaml"
            mb = json_path.stat().st_size / 1e6
            results["orjson"][pods] = measure([sys.executable, "-c", ORJSON_ONLY,
                                               str(json_path)], args.runs)
            results["json"][pods] = measure([*oomguard, str(json_path)], args.runs)
            line = (f"{pods:>7} pods ({max(1, pods // 30)} nodes, JSON {mb:.0f} MB): "
                    f"orjson {_fig(results['orjson'][pods], pods)} | "
                    f"json {_fig(results['json'][pods], pods)}")
            if pods in yaml_sizes:
                results["yaml"][pods] = measure([*oomguard, str(yaml_path)], args.runs)
                line += f" | yaml {_fig(results['yaml'][pods], pods)}"
                yaml_path.unlink()
            results["live"][pods] = live(json_path, folder, args.runs)
            line += f" | live {_fig(results['live'][pods], pods)}"
            print(line, flush=True)
            json_path.unlink()
    print_ratios(results, sizes)
    return 0


def live(dump: Path, folder: Path, runs: int) -> tuple[float, float]:
    certs = folder / "stub"
    certs.mkdir(exist_ok=True)
    server = subprocess.Popen(helper("--serve", str(dump), str(certs)), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        config = server.stdout.readline().strip()
        return measure([sys.executable, "-m", "oomguard", "diagnose", "--format", "json",
                        "-o", os.devnull, "--kubeconfig", config, "-A"], runs)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=60)


def _fig(figure: tuple[float, float], pods: int) -> str:
    seconds, rss = figure
    return f"{seconds:.2f} s, {pods / seconds:,.0f} pods/s, {rss:.0f} MiB"


def print_ratios(results: dict[str, dict[int, tuple[float, float]]], sizes: list[int]) -> None:
    print()
    for mode in ("json", "yaml", "live"):
        known = sorted(results[mode])
        for small, big in zip(known, known[1:], strict=False):
            factor = big / small
            ratio = results[mode][big][0] / results[mode][small][0]
            print(f"{mode}: {factor:g}x pods -> {ratio:.2f}x time "
                  f"({ratio / factor * 10:.2f}x per 10x pods; target <= 11x)")
    for pods in sizes:
        ratio = results["json"][pods][0] / results["orjson"][pods][0]
        print(f"json {pods} pods: {ratio:.2f}x the time orjson alone takes to parse the "
              "dump (target <= 3x)")
    live_sizes = sorted(results["live"])
    if len(live_sizes) > 1:
        low, high = results["live"][live_sizes[0]][1], results["live"][live_sizes[-1]][1]
        print(f"live peak RSS: {low:.0f} MiB at {live_sizes[0]} pods, {high:.0f} MiB at "
              f"{live_sizes[-1]} pods ({high / low:.2f}x for {live_sizes[-1] // live_sizes[0]}x "
              "pods)")


if __name__ == "__main__":
    sys.exit(main())
