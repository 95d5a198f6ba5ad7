"""Benchmark `oomguard audit` against a synthetic cluster at the Kubernetes scalability
limits: 5,000 nodes, 150,000 pods under 15,000 controllers, every node's /configz.

Usage: python bench/audit_bench.py [--scale 1,10,100] [--page-size 500]

A stand-in API server (this process, TLS on 127.0.0.1, bearer token) serves the lists as
kube-apiserver does: items without kind/apiVersion, ``limit``/``continue`` pages; every
item is encoded once up front so the server costs little next to the client. The audit
runs as a child process (`oomguard audit -A --format json`); its wall time and peak RSS
(VmHWM, reported by the child) are printed for each percentage of the cluster, with objects/s
and the growth ratio 10x objects / time.

At 100%: 11,000 Deployments (each a ReplicaSet and 10 pods), 3,000 StatefulSets (5 pods),
1,000 CronJobs (a finished Job and pod each), 5 DaemonSets (a pod on every node), 1,000
HPAs and a LimitRange in each of 50 namespaces: 151,000 pods, 15,005 controllers.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TOKEN = "bench-token"
NAMESPACES = 50

# (plural, group, version, kind)
PATHS = {
    "nodes": ("", "v1", "Node"), "pods": ("", "v1", "Pod"),
    "limitranges": ("", "v1", "LimitRange"),
    "replicationcontrollers": ("", "v1", "ReplicationController"),
    "deployments": ("apps", "v1", "Deployment"), "replicasets": ("apps", "v1", "ReplicaSet"),
    "statefulsets": ("apps", "v1", "StatefulSet"), "daemonsets": ("apps", "v1", "DaemonSet"),
    "jobs": ("batch", "v1", "Job"), "cronjobs": ("batch", "v1", "CronJob"),
    "horizontalpodautoscalers": ("autoscaling", "v2", "HorizontalPodAutoscaler"),
}


def _container(name: str, i: int, limit: bool) -> dict[str, Any]:
    memory = f"{128 << (i % 4)}Mi"
    resources: dict[str, Any] = {"requests": {"cpu": "100m", "memory": memory}}
    if limit:
        resources["limits"] = {"cpu": "500m", "memory": memory}
    return {"name": name, "image": f"registry.example/team/{name}:1.{i % 40}.3",
            "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
            "env": [{"name": "LOG_LEVEL", "value": "info"},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {
                        "fieldPath": "metadata.name"}}}],
            "resources": resources,
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                              "periodSeconds": 10},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
            "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
            "terminationMessagePath": "/dev/termination-log",
            "imagePullPolicy": "IfNotPresent"}


def _pod_spec(i: int) -> dict[str, Any]:
    # one in five workloads has no memory limit on its sidecar: findings to keep
    return {"containers": [_container("app", i, True), _container("proxy", i, i % 5 != 0)],
            "volumes": [{"name": "config", "configMap": {"name": f"cfg-{i}"}}],
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default", "terminationGracePeriodSeconds": 30}


def _meta(name: str, namespace: str | None, uid: str,
          owner: tuple[str, str, str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": uid, "resourceVersion": "1",
                            "creationTimestamp": "2026-11-30T10:00:00Z",
                            "labels": {"app": name.split("-")[0], "team": "t"}}
    if namespace:
        meta["namespace"] = namespace
    if owner:
        api_version, kind, owner_name, owner_uid = owner
        meta["ownerReferences"] = [{"apiVersion": api_version, "kind": kind,
                                    "name": owner_name, "uid": owner_uid,
                                    "controller": True, "blockOwnerDeletion": True}]
    return meta


def _pod(name: str, ns: str, spec: dict[str, Any], node: str,
         owner: tuple[str, str, str, str], phase: str = "Running") -> dict[str, Any]:
    body = dict(spec, nodeName=node)
    return {"metadata": _meta(name, ns, f"uid-{ns}-{name}", owner), "spec": body,
            "status": {"phase": phase, "qosClass": "Burstable", "podIP": "10.1.2.3",
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def configz(i: int) -> bytes:
    config: dict[str, Any] = {
        "enableServer": True, "cgroupDriver": "systemd", "maxPods": 110,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "10%",
                         "nodefs.inodesFree": "5%", "imagefs.available": "15%",
                         "imagefs.inodesFree": "5%"},
        "evictionPressureTransitionPeriod": "5m0s", "enforceNodeAllocatable": ["pods"],
        "memoryManagerPolicy": "None", "failSwapOn": True,
    }
    if i % 3:  # two pools in three reserve memory
        config["kubeReserved"] = {"memory": "1Gi", "cpu": "100m"}
        config["systemReserved"] = {"memory": "500Mi"}
    return orjson.dumps({"kubeletconfig": config})


def build(fraction: float) -> tuple[dict[str, list[bytes]], dict[str, bytes]]:
    """The cluster's collections as encoded items, and each node's configz."""
    out: dict[str, list[bytes]] = {plural: [] for plural in PATHS}
    nodes = max(1, round(5000 * fraction))
    node_names = [f"node-{i:05d}" for i in range(nodes)]
    proxies = {}
    for i, name in enumerate(node_names):
        memory = (16, 32, 64)[i % 3]
        out["nodes"].append(orjson.dumps({
            "metadata": _meta(name, None, f"uid-{name}"),
            "status": {"capacity": {"memory": f"{memory}Gi", "cpu": "8", "pods": "110"},
                       "allocatable": {"memory": f"{memory - 2}Gi", "cpu": "7800m"},
                       "conditions": [{"type": "MemoryPressure", "status": "False"}]}}))
        proxies[name] = configz(i)
    spread = iter(range(10**9))

    def next_node() -> str:
        return node_names[next(spread) % nodes]

    namespaces = [f"team-{i:02d}" for i in range(NAMESPACES)]
    for ns in namespaces:
        out["limitranges"].append(orjson.dumps({
            "metadata": _meta("defaults", ns, f"uid-lr-{ns}"),
            "spec": {"limits": [{"type": "Container", "default": {"memory": "512Mi"},
                                 "defaultRequest": {"memory": "256Mi"}}]}}))
    for i in range(round(11000 * fraction)):
        ns, name = namespaces[i % NAMESPACES], f"web{i}"
        spec = _pod_spec(i)
        template = {"metadata": {"labels": {"app": name}}, "spec": spec}
        uid = f"uid-{ns}-{name}"
        out["deployments"].append(orjson.dumps({
            "metadata": _meta(name, ns, uid), "spec": {"replicas": 10, "template": template}}))
        rs, rs_uid = f"{name}-7d9f", f"uid-{ns}-{name}-rs"
        out["replicasets"].append(orjson.dumps({
            "metadata": _meta(rs, ns, rs_uid, ("apps/v1", "Deployment", name, uid)),
            "spec": {"replicas": 10, "template": template}}))
        for p in range(10):
            out["pods"].append(orjson.dumps(_pod(f"{rs}-{p:02d}", ns, spec, next_node(),
                                                 ("apps/v1", "ReplicaSet", rs, rs_uid))))
        if i % 11 == 0:  # 1,000 HPAs
            out["horizontalpodautoscalers"].append(orjson.dumps({
                "metadata": _meta(name, ns, f"uid-hpa-{ns}-{name}"),
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                            "name": name}, "minReplicas": 2, "maxReplicas": 20,
                         "metrics": [{"type": "Resource", "resource": {
                             "name": "memory", "target": {"type": "Utilization",
                                                          "averageUtilization": 75}}}]}}))
    for i in range(round(3000 * fraction)):
        ns, name = namespaces[i % NAMESPACES], f"db{i}"
        spec, uid = _pod_spec(i + 7), f"uid-{ns}-db{i}"
        out["statefulsets"].append(orjson.dumps({
            "metadata": _meta(name, ns, uid),
            "spec": {"replicas": 5, "serviceName": name,
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}))
        for p in range(5):
            out["pods"].append(orjson.dumps(_pod(f"{name}-{p}", ns, spec, next_node(),
                                                 ("apps/v1", "StatefulSet", name, uid))))
    for i in range(round(1000 * fraction)):
        ns, name = namespaces[i % NAMESPACES], f"job{i}"
        spec = dict(_pod_spec(i + 3), restartPolicy="OnFailure")
        uid, job, job_uid = f"uid-{ns}-{name}", f"{name}-2900", f"uid-{ns}-{name}-j"
        template = {"spec": spec}
        out["cronjobs"].append(orjson.dumps({
            "metadata": _meta(name, ns, uid),
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}}))
        out["jobs"].append(orjson.dumps({
            "metadata": _meta(job, ns, job_uid, ("batch/v1", "CronJob", name, uid)),
            "spec": {"template": template}}))
        out["pods"].append(orjson.dumps(_pod(f"{job}-x", ns, spec, next_node(),
                                             ("batch/v1", "Job", job, job_uid), "Succeeded")))
    for i in range(5):
        name, uid = f"agent{i}", f"uid-kube-system-agent{i}"
        spec = _pod_spec(i)
        out["daemonsets"].append(orjson.dumps({
            "metadata": _meta(name, "kube-system", uid),
            "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}))
        for n, node in enumerate(node_names):
            out["pods"].append(orjson.dumps(_pod(f"{name}-{n:05d}", "kube-system", spec, node,
                                                 ("apps/v1", "DaemonSet", name, uid))))
    return out, proxies


class Server:
    def __init__(self, collections: dict[str, list[bytes]], proxies: dict[str, bytes],
                 directory: Path) -> None:
        from tests.webhook_support.certs import make_ca

        self.collections, self.proxies = collections, proxies
        self.requests = 0
        self.methods: set[str] = set()
        _, self.ca_file, cert, key = make_ca(directory)
        ThreadingHTTPServer.request_queue_size = 1024  # kube-apiserver's backlog is large
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        server.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self.server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, bytes]:
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "nodes"] and len(parts) == 6 and parts[4] == "proxy":
            body = self.proxies.get(parts[3])
            return (200, body) if body is not None else (404, b"{}")
        plural = parts[-1]
        if plural not in PATHS or "namespaces" in parts:
            return 404, orjson.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                      "reason": "NotFound", "code": 404,
                                      "message": "404 page not found"})
        group, version, kind = PATHS[plural]
        items = self.collections[plural]
        start = 0
        if query.get("continue"):
            start = int(json.loads(base64.urlsafe_b64decode(query["continue"]))["start"])
        limit = int(query.get("limit") or 0) or len(items)
        end = min(len(items), start + limit)
        meta = b'{"resourceVersion":"424242"'
        if end < len(items):
            token = base64.urlsafe_b64encode(json.dumps({"start": end}).encode())
            meta += b',"continue":"' + token + b'","remainingItemCount":' + \
                str(len(items) - end).encode()
        api_version = f"{group}/{version}" if group else version
        head = f'{{"kind":"{kind}List","apiVersion":"{api_version}","metadata":'.encode()
        return 200, head + meta + b'},"items":[' + b",".join(items[start:end]) + b"]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        bench = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # as Go's net/http (kube-apiserver) does: without it each body, written
                # after its headers, waits ~40 ms for the client's delayed ACK
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                bench.requests += 1
                bench.methods.add("GET")
                url = urlparse(self.path)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    code, body = 401, b'{"kind":"Status","code":401,"reason":"Unauthorized"}'
                else:
                    code, body = bench.answer(url.path, {k: v[0] for k, v in
                                                         parse_qs(url.query).items()})
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


# The child reports its own peak (VmHWM of its address space). wait4's ru_maxrss would not
# do: subprocess starts the child with vfork, and exec records the parent's resident size
# (this bench holds the whole encoded cluster) as the child's high-water mark.
CHILD = """
import atexit, sys
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(sys.argv[1], "w").write(line.split()[1])
atexit.register(peak)
from oomguard.cli import main
sys.exit(main(sys.argv[2:]))
"""


def run_audit(kubeconfig: Path, output: Path, page_size: int
              ) -> tuple[float, float, int, int]:
    """(seconds, CPU seconds, peak RSS bytes, exit code) of one audit process. CPU time
    says what the audit costs when the machine is shared (wall time then includes waits)."""
    peak = output.with_suffix(".peak")
    command = [sys.executable, "-c", CHILD, str(peak), "audit", "--kubeconfig",
               str(kubeconfig), "-A", "--format", f"json:{output}", "--page-size",
               str(page_size), "--profile", "default"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    child = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           cwd=tempfile.gettempdir(), check=False, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if child.returncode not in (0, 1) or child.stderr.strip():
        print(f"exit {child.returncode}: {child.stderr[-3000:]}", file=sys.stderr)
    return elapsed, cpu, int(peak.read_text()) * 1024, child.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="1,10,100",
                        help="percentages of the full cluster to audit (default: 1,10,100)")
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args(argv)
    rows = []
    for percent in [float(p) for p in args.scale.split(",")]:
        started = time.perf_counter()
        collections, proxies = build(percent / 100)
        objects = sum(len(v) for v in collections.values())
        pods = len(collections["pods"])
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            server = Server(collections, proxies, directory)
            kubeconfig = directory / "kubeconfig"
            kubeconfig.write_text(json.dumps({
                "apiVersion": "v1", "kind": "Config", "current-context": "bench",
                "clusters": [{"name": "bench", "cluster": {
                    "server": server.url, "certificate-authority": str(server.ca_file)}}],
                "users": [{"name": "bench", "user": {"token": TOKEN}}],
                "contexts": [{"name": "bench", "context": {"cluster": "bench",
                                                            "user": "bench"}}]}))
            print(f"{percent:g}%: {len(proxies)} nodes, {pods} pods, {objects} objects "
                  f"(built in {time.perf_counter() - started:.1f} s)", flush=True)
            output = directory / "audit.json"
            load = os.getloadavg()[0]
            seconds, cpu, rss, code = run_audit(kubeconfig, output, args.page_size)
            report = json.loads(output.read_text())
            server.server.shutdown()
            server.server.server_close()
        nodes_read = sum(1 for n in report["nodes"] if n["kubeletConfig"] == "configz")
        print(f"  {seconds:.2f} s ({cpu:.1f} s CPU, load {load:.1f} on {os.cpu_count()} cores), "
              f"{(objects + nodes_read) / seconds:,.0f} objects/s, "
              f"peak RSS {rss / (1 << 20):.0f} MiB, exit {code}, "
              f"{len(report['findings'])} findings, {nodes_read} kubelets read, "
              f"{server.requests} GETs, methods {sorted(server.methods)}", flush=True)
        rows.append((percent, objects + len(proxies), seconds, cpu))
    for (p1, o1, t1, c1), (p2, o2, t2, c2) in zip(rows, rows[1:], strict=False):
        print(f"{p2:g}% / {p1:g}%: {o2 / o1:.1f}x objects, {t2 / t1:.2f}x time, "
              f"{c2 / c1:.2f}x CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
