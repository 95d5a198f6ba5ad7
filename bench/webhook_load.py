"""Load benchmark of the admission webhook: the real gunicorn TLS server on 127.0.0.1.

Usage: python bench/webhook_load.py [--requests N] [--clients P] [--threads T]

Concurrent keep-alive HTTPS clients send AdmissionReviews built from ../shared/corpus
objects: wrk (when installed: Debian's `wrk`) for the maximum throughput, so the load
generator takes little of the machine's cores, and Python clients (P processes x T
threads, one connection each, a bounded number of requests, paced) for the latency at half
load. The same run serves a trivial echo app under the very same gunicorn settings
(workers, threads, TLS) as the ceiling. It prints requests/s, p50/p99 latency, errors and
worker RSS for each, and the ratios against the targets.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT))

ECHO_MODULE = '''
from flask import Flask, Response, request

def create_echo():
    app = Flask("echo")

    @app.post("/validate")
    def echo():
        return Response(request.get_data(), mimetype="application/json")

    @app.get("/readyz")
    def ready():
        return "ok"

    return app
'''

KINDS = {"Pod": ("", "pods"), "Deployment": ("apps", "deployments"),
         "StatefulSet": ("apps", "statefulsets"), "DaemonSet": ("apps", "daemonsets"),
         "Job": ("batch", "jobs"), "CronJob": ("batch", "cronjobs"),
         "ReplicaSet": ("apps", "replicasets"),
         "ReplicationController": ("", "replicationcontrollers")}


def reviews_from_corpus(limit: int = 200) -> list[bytes]:
    from policies.source import iter_documents

    bodies: list[bytes] = []
    for path in sorted(CORPUS.iterdir()):
        for doc in iter_documents(path.read_text(encoding="utf-8")):
            obj = doc.data
            if not isinstance(obj, dict) or obj.get("kind") not in KINDS:
                continue
            group, resource = KINDS[obj["kind"]]
            version = str(obj.get("apiVersion", "v1")).rsplit("/", 1)[-1]
            gvk = {"group": group, "version": version, "kind": obj["kind"]}
            gvr = {"group": group, "version": version, "resource": resource}
            request = {"uid": str(uuid.uuid4()), "kind": gvk, "resource": gvr,
                       "requestKind": gvk, "requestResource": gvr,
                       "name": (obj.get("metadata") or {}).get("name"), "namespace": "bench",
                       "operation": "CREATE", "object": json.loads(json.dumps(obj)),
                       "oldObject": None, "dryRun": False,
                       "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters"]},
                       "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}}
            bodies.append(json.dumps({"apiVersion": "admission.k8s.io/v1",
                                      "kind": "AdmissionReview", "request": request}).encode())
    return bodies[:limit]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, tmp: Path, app: str, workers: int, threads: int) -> None:
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}",
               "OOMGUARD_NAMESPACE": "oomguard-system"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.pop("KUBECONFIG", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "webhook", "--cert-file", str(tmp / "tls.crt"),
             "--key-file", str(tmp / "tls.key"), "--bind", "127.0.0.1", "--port",
             str(self.port), "--workers", str(workers), "--threads", str(threads),
             "--log-level", "warning", "--app", app],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.context = ssl.create_default_context(cafile=str(tmp / "ca.pem"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context,
                                                   timeout=2)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def worker_rss_mib(self) -> list[float]:
        out = subprocess.run(["ps", "-o", "pid=,rss=", "--ppid", str(self.process.pid)],
                             capture_output=True, text=True, check=False).stdout
        return [int(line.split()[1]) / 1024 for line in out.splitlines() if line.strip()]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)


def _client(args: tuple[int, str, int, int, list[bytes], float]) -> tuple[list[float], int]:
    port, cafile, threads, count, bodies, rate = args
    context = ssl.create_default_context(cafile=cafile)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker(offset: int) -> None:
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        interval = 1.0 / rate if rate else 0.0
        next_at = time.perf_counter()
        local: list[float] = []
        for i in range(count):
            if interval:
                next_at += interval
                delay = next_at - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            body = bodies[(offset + i) % len(bodies)]
            start = time.perf_counter()
            try:
                conn.request("POST", "/validate", body, {"Content-Type": "application/json"})
                reply = conn.getresponse()
                reply.read()
                if reply.status != 200:
                    raise RuntimeError(reply.status)
            except Exception:  # noqa: BLE001 - counted, the run goes on
                with lock:
                    errors[0] += 1
                conn.close()
                conn = http.client.HTTPSConnection("127.0.0.1", port, context=context,
                                                   timeout=10)
                continue
            local.append(time.perf_counter() - start)
        with lock:
            latencies.extend(local)

    pool = [threading.Thread(target=worker, args=(t * 7,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return latencies, errors[0]


def drive(server: Server, cafile: str, bodies: list[bytes], total: int, clients: int,
          threads: int, rate_per_connection: float = 0.0) -> dict[str, float]:
    per_thread = max(1, total // (clients * threads))
    jobs = [(server.port, cafile, threads, per_thread, bodies, rate_per_connection)] * clients
    start = time.perf_counter()
    with multiprocessing.Pool(clients) as pool:
        results = pool.map(_client, jobs)
    elapsed = time.perf_counter() - start
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 \
            if latencies else float("nan")

    return {"rps": len(latencies) / elapsed, "p50": pct(0.50), "p99": pct(0.99),
            "errors": float(errors), "requests": float(len(latencies))}


WRK_SCRIPT = """
local bodies = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  i = math.random(#bodies)
end
function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/validate", {["Content-Type"] = "application/json"}, bodies[i])
end
"""


def drive_wrk(server: Server, script: Path, bodies_file: Path, seconds: int,
              connections: int) -> dict[str, float]:
    """Maximum throughput with wrk (a C load generator): the clients then take little of
    the two cores, so the figures are the server's."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         f"https://127.0.0.1:{server.port}/validate", "--", str(bodies_file)],
        capture_output=True, text=True, check=True).stdout

    def millis(label: str) -> float:
        for line in out.splitlines():
            parts = line.split()
            if parts[:1] == [label]:
                value = parts[1]
                for suffix, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
                    if value.endswith(suffix):
                        return float(value[:-len(suffix)]) * factor
        return float("nan")

    rps = next(float(line.split()[1]) for line in out.splitlines()
               if line.startswith("Requests/sec:"))
    errors = 0.0
    for line in out.splitlines():
        if "Non-2xx" in line:
            errors += float(line.split()[-1])
        if line.strip().startswith("Socket errors:"):
            errors += sum(float(part.split()[-1]) for part in line.split(":", 1)[1].split(","))
    total = next(float(line.split()[0]) for line in out.splitlines() if "requests in" in line)
    return {"rps": rps, "p50": millis("50%"), "p99": millis("99%"), "errors": errors,
            "requests": total}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="connections per client")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--server-threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5, help="wrk run length")
    parser.add_argument("--python-clients", action="store_true",
                        help="measure maximum throughput with the Python clients, not wrk")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        return 2
    import trustme

    bodies = reviews_from_corpus()
    print(f"{len(bodies)} AdmissionReviews from the corpus; {args.requests} requests per run, "
          f"{args.clients}x{args.threads} keep-alive TLS connections; gunicorn gthread "
          f"{args.workers} workers x {args.server_threads} threads; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1")
        ca.cert_pem.write_to_path(str(tmp / "ca.pem"))
        leaf.cert_chain_pems[0].write_to_path(str(tmp / "tls.crt"))
        leaf.private_key_pem.write_to_path(str(tmp / "tls.key"))
        (tmp / "bench_echo.py").write_text(ECHO_MODULE)
        cafile = str(tmp / "ca.pem")
        results: dict[str, dict[str, float]] = {}
        rss: dict[str, list[float]] = {}
        servers = {"echo": Server(tmp, "bench_echo:create_echo", args.workers,
                                  args.server_threads),
                   "webhook": Server(tmp, "webhook.app:create_app", args.workers,
                                     args.server_threads)}
        try:
            for server in servers.values():  # warm-up
                drive(server, cafile, bodies, min(600, args.requests), args.clients,
                      args.threads)
            # alternate the two, several rounds, and keep each one's median round: the
            # machine's noise then hits both alike
            rounds: dict[str, list[dict[str, float]]] = {"echo": [], "webhook": []}
            use_wrk = shutil.which("wrk") is not None and not args.python_clients
            script, bodies_file = tmp / "post.lua", tmp / "bodies.jsonl"
            script.write_text(WRK_SCRIPT)
            bodies_file.write_bytes(b"\n".join(bodies) + b"\n")
            print("max throughput: " + ("wrk" if use_wrk else "python clients"))
            for _ in range(args.rounds):
                for label, server in servers.items():
                    if use_wrk:
                        rounds[label].append(drive_wrk(server, script, bodies_file,
                                                       args.seconds,
                                                       args.clients * args.threads))
                    else:
                        rounds[label].append(drive(server, cafile, bodies, args.requests,
                                                   args.clients, args.threads))
            for label, runs in rounds.items():
                ordered = sorted(runs, key=lambda r: r["rps"])
                results[label] = dict(ordered[len(ordered) // 2])
                results[label]["errors"] = sum(r["errors"] for r in runs)
            half = results["webhook"]["rps"] / 2 / (args.clients * args.threads)
            results["webhook at half load"] = drive(
                servers["webhook"], cafile, bodies, args.requests // 2, args.clients,
                args.threads, rate_per_connection=half)
            rss = {label: server.worker_rss_mib() for label, server in servers.items()}
        finally:
            for server in servers.values():
                server.stop()
    for label, r in results.items():
        workers = rss.get(label.split()[0], [])
        print(f"{label:<22} {r['rps']:8.0f} req/s  p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms"
              f"  errors {int(r['errors'])}  worker RSS "
              + ", ".join(f"{m:.0f} MiB" for m in workers))
    ratio = results["webhook"]["rps"] / results["echo"]["rps"]
    print(f"webhook/echo throughput {ratio:.2f} [>= 0.70]; p99 at half load "
          f"{results['webhook at half load']['p99']:.2f} ms [<= 10]; errors "
          f"{int(sum(r['errors'] for r in results.values()))} [0]; max worker RSS "
          f"{max(rss['webhook']):.0f} MiB [<= 100]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
