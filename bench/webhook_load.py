"""Load benchmark of the admission webhook: the real gunicorn TLS server on 127.0.0.1.

Usage: python bench/webhook_load.py [--requests N] [--connections C] [--rounds R]
                                    [--slow-clients S]

Keep-alive HTTPS clients POST AdmissionReviews built from ../shared/corpus objects to the
real server (``python -m oomguard.webhook``: gunicorn's threaded worker over TLS). The same run
serves a trivial Flask echo app under the very same gunicorn settings (workers, threads,
TLS, the worker class that spreads connections over the workers) as the ceiling. The two
are measured in pairs of short rounds run back to back (echo first in one pair, the
webhook first in the next), and the throughput figure is the median of the pairs' ratios:
on a shared host whose speed drifts by a third over minutes, two rounds seconds apart see
the same machine. Then the webhook is paced at half of its maximum throughput for the
latency figure, and the echo at the very same pace beside it (the machine's own latency
tail at that request rate). Every run is bounded: by a number of requests, and with wrk by
its duration too.

The load generator is wrk (Debian's ``wrk``) when installed: a C client, so it takes little
of the two cores and the figures are the server's. Each round runs ``--seconds``; its Lua
script stops a thread after its share of ``--requests``, and paces requests with
``delay()`` for the half-load run. Without wrk, Python clients (processes x threads, one
connection each) send exactly ``--requests``, with more of the machine for themselves.

Then the same is measured again with ``--slow-clients`` (default 100) slow and idle
connections held open against each server (``tests/webhook_support/slow.py``: partial TLS
ClientHellos, header fields and bodies a byte every half second, idle keep-alive; one
closed at a limit is replaced at once): a pair of maximum-throughput rounds and the webhook
at the same half-load pace.

It prints requests/s, p50/p99 latency, errors, each worker's share of the CPU and RSS, and
the ratios against the targets: webhook/echo throughput >= 0.70, p99 <= 10 ms at half load,
zero errors, <= 100 MiB RSS per worker; with the slow clients, the webhook's throughput and
p99 beside the figures without them.
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
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("OOMGUARD_CORPUS", ROOT.parent / "shared" / "corpus"))
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


def _in_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The object as kube-apiserver hands it to validating admission: plain JSON, with
    ``metadata.namespace`` set from the request (the create handler fills it in first)."""
    plain: dict[str, Any] = json.loads(json.dumps(obj))
    meta = plain.get("metadata")
    if isinstance(meta, dict):
        meta["namespace"] = namespace
    return plain


def reviews_from_corpus(limit: int = 200) -> list[bytes]:
    """AdmissionReviews (CREATE, as kube-apiserver shapes them) of the corpus workloads."""
    from oomguard.policies.source import iter_documents

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
                       "operation": "CREATE", "object": _in_namespace(obj, "bench"),
                       "oldObject": None, "dryRun": False,
                       "userInfo": {"username": "kubernetes-admin",
                                    "groups": ["system:masters", "system:authenticated"]},
                       "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions",
                                   "fieldManager": "kubectl-client-side-apply"}}
            bodies.append(json.dumps({"apiVersion": "admission.k8s.io/v1",
                                      "kind": "AdmissionReview", "request": request}).encode())
    return bodies[:limit]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, tmp: Path, app: str, workers: int, threads: int,
                 cpu_affinity: str = "auto") -> None:
        self.port = free_port()
        self.workers = workers
        env = {**os.environ, "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}",
               "OOMGUARD_NAMESPACE": "oomguard-system"}
        for key in ("PROMETHEUS_MULTIPROC_DIR", "KUBECONFIG", "KUBERNETES_SERVICE_HOST",
                    "OOMGUARD_POLICY"):
            env.pop(key, None)
        self.log = (tmp / f"{app.split(':')[0]}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "oomguard.webhook", "--cert-file", str(tmp / "tls.crt"),
             "--key-file", str(tmp / "tls.key"), "--bind", "127.0.0.1", "--port",
             str(self.port), "--workers", str(workers), "--threads", str(threads),
             "--cpu-affinity", cpu_affinity, "--log-level", "info", "--app", app],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.context = ssl.create_default_context(cafile=str(tmp / "ca.pem"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(self.worker_pids()) == workers and self._ready():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{app} did not start")

    def _ready(self) -> bool:
        try:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context,
                                               timeout=2)
            conn.request("GET", "/readyz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
                             capture_output=True, text=True, check=False).stdout
        return [int(pid) for pid in out.split()]

    def cpu(self) -> list[float]:
        return [_cpu_seconds(pid) for pid in self.worker_pids()]

    def worker_rss_mib(self) -> list[float]:
        out = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out.append(int(line.split()[1]) / 1024)
        return out

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.log.close()


# -- Python clients (used without wrk) --------------------------------------------------------

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


def drive_python(server: Server, cafile: str, bodies: list[bytes], total: int,
                 connections: int, rate: float = 0.0) -> dict[str, float]:
    clients = min(connections, os.cpu_count() or 1)
    threads = max(1, connections // clients)
    per_connection = max(1, total // (clients * threads))
    per_rate = rate / (clients * threads) if rate else 0.0
    jobs = [(server.port, cafile, threads, per_connection, bodies, per_rate)] * clients
    start = time.perf_counter()
    with multiprocessing.Pool(clients) as pool:
        results = pool.map(_client, jobs)
    elapsed = time.perf_counter() - start
    latencies = sorted(x for lat, _ in results for x in lat)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 \
            if latencies else float("nan")

    return {"rps": len(latencies) / elapsed, "p50": pct(0.50), "p99": pct(0.99),
            "errors": float(sum(e for _, e in results)), "requests": float(len(latencies))}


# -- wrk ----------------------------------------------------------------------------------------

WRK_SCRIPT = """
local bodies = {}
local i = 0
local limit = 0
local done = 0
function init(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  limit = tonumber(args[2])
  i = math.random(#bodies)
end
function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/validate", {["Content-Type"] = "application/json"}, bodies[i])
end
function response(status, headers, body)
  done = done + 1
  if done >= limit then wrk.thread:stop() end
end
"""
# the paced variant: a defined delay() costs wrk a timer per request, so only this one has it
# wrk delays in whole milliseconds: a fractional pause is the right mix of floor and ceiling
WRK_PACED = WRK_SCRIPT + """
local pause = tonumber(os.getenv("WRK_PAUSE_MS") or "0")
local base = math.floor(pause)
local fraction = pause - base
function delay()
  if math.random() < fraction then return base + 1 end
  return base
end
"""


def drive_wrk(server: Server, tmp: Path, bodies_file: Path, seconds: float, connections: int,
              pause_ms: float = 0.0, max_requests: int = 200_000) -> dict[str, float]:
    """wrk for ``seconds`` over ``connections`` keep-alive connections; each of its two
    threads stops sending after ``max_requests / 2``. ``pause_ms`` between a response and a
    connection's next request paces the load."""
    threads = 2
    script = tmp / ("paced.lua" if pause_ms else "max.lua")
    script.write_text(WRK_PACED if pause_ms else WRK_SCRIPT)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
         "--latency", "-s", str(script), f"https://127.0.0.1:{server.port}/validate", "--",
         str(bodies_file), str(max(1, max_requests // threads))],
        capture_output=True, text=True, check=True,
        env={**os.environ, "WRK_PAUSE_MS": f"{pause_ms:.3f}"}).stdout

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
    requests = next(float(line.split()[0]) for line in out.splitlines() if "requests in" in line)
    return {"rps": rps, "p50": millis("50%"), "p99": millis("99%"), "errors": errors,
            "requests": requests}


# -- the run ------------------------------------------------------------------------------------

def measure(server: Server, drive: Any) -> dict[str, Any]:
    before = server.cpu()
    result: dict[str, Any] = dict(drive())
    used = [after - b for after, b in zip(server.cpu(), before, strict=False)]
    total = sum(used) or 1.0
    result["cpu_us"] = total / max(result["requests"], 1) * 1e6
    result["shares"] = [u / total for u in used]
    return result


def _with_slow_clients(servers: dict[str, Server], cafile: Path, count: int, run: Any,
                       total: int, pause: float, rate: float) -> dict[str, dict[str, Any]]:
    """The maximum-throughput pair and the half-load run again, with ``count`` slow clients
    held open against each server."""
    from tests.webhook_support.slow import SlowClients

    out: dict[str, dict[str, Any]] = {}
    with SlowClients(servers["echo"].port, cafile, count), \
            SlowClients(servers["webhook"].port, cafile, count):
        for label in ("echo", "webhook"):
            out[f"{label} +slow clients"] = run(servers[label], total)
        out["webhook at half load +slow clients"] = run(servers["webhook"], total // 2,
                                                        pause, rate)
    for result in out.values():
        result["all"] = [round(result["rps"])]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=None,
                        help="requests per round (with wrk: at most, within --seconds; "
                             "default 100000 with wrk, 6000 with the Python clients)")
    parser.add_argument("--seconds", type=float, default=2, help="wrk round length")
    parser.add_argument("--connections", type=int, default=16,
                        help="keep-alive HTTPS connections")
    # the Helm chart's defaults: 2 workers x 8 threads
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    parser.add_argument("--cpu-affinity", choices=["auto", "off"], default="auto",
                        help="the servers' --cpu-affinity (the default is the chart's)")
    parser.add_argument("--rounds", type=int, default=10,
                        help="pairs of rounds (echo and webhook, back to back)")
    parser.add_argument("--slow-clients", type=int, default=100,
                        help="slow and idle connections held open in the last phase (0: none)")
    parser.add_argument("--python-clients", action="store_true",
                        help="use the Python clients even when wrk is installed")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        return 2
    import trustme

    use_wrk = shutil.which("wrk") is not None and not args.python_clients
    if args.requests is None:
        args.requests = 100_000 if use_wrk else 6000
    bodies = reviews_from_corpus()
    print(f"{len(bodies)} AdmissionReviews from the corpus; {args.requests} requests per round "
          f"over {args.connections} keep-alive TLS connections ("
          f"{'wrk' if use_wrk else 'python clients'}), {args.rounds} pairs of back-to-back "
          f"rounds; gunicorn {args.workers} workers x {args.threads} threads, CPU affinity "
          f"{args.cpu_affinity}; "
          f"{os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1")
        ca.cert_pem.write_to_path(str(tmp / "ca.pem"))
        leaf.cert_chain_pems[0].write_to_path(str(tmp / "tls.crt"))
        leaf.private_key_pem.write_to_path(str(tmp / "tls.key"))
        (tmp / "bench_echo.py").write_text(ECHO_MODULE)
        cafile = str(tmp / "ca.pem")
        bodies_file = tmp / "bodies.jsonl"
        bodies_file.write_bytes(b"\n".join(bodies) + b"\n")

        def run(server: Server, total: int, pause_ms: float = 0.0, rate: float = 0.0
                ) -> dict[str, Any]:
            """wrk paces by a pause after each response, the Python clients by a rate."""
            if use_wrk:
                return measure(server, lambda: drive_wrk(
                    server, tmp, bodies_file, args.seconds, args.connections, pause_ms, total))
            return measure(server, lambda: drive_python(
                server, cafile, bodies, total, args.connections, rate))

        servers = {"echo": Server(tmp, "bench_echo:create_echo", args.workers, args.threads,
                                  args.cpu_affinity),
                   "webhook": Server(tmp, "oomguard.webhook.app:create_app", args.workers,
                                     args.threads, args.cpu_affinity)}
        results: dict[str, dict[str, Any]] = {}
        try:
            for server in servers.values():  # warm-up
                run(server, min(2000, args.requests))
            rounds: dict[str, list[dict[str, Any]]] = {"echo": [], "webhook": []}
            for pair in range(args.rounds):
                # echo first, then webhook first (ABBA): a machine slowing down or speeding
                # up within a pair favours neither
                order = list(servers.items())
                for label, server in order if pair % 2 == 0 else order[::-1]:
                    rounds[label].append(run(server, args.requests))
            for label, runs in rounds.items():
                ordered = sorted(runs, key=lambda r: r["rps"])
                results[label] = dict(ordered[len(ordered) // 2])
                results[label]["errors"] = sum(r["errors"] for r in runs)
                results[label]["all"] = [round(r["rps"]) for r in runs]
            # half load: each connection waits between a response and its next request
            # (calibrated by a short run: a connection's cycle is its pause plus the
            # request's own time at that pace). Half of the maximum measured just before,
            # not of the median above: the host's speed drifts over the minute the pairs take.
            current = run(servers["webhook"], args.requests)
            target = current["rps"] / 2
            cycle_ms = 1000.0 * args.connections / target
            pause = max(0.0, cycle_ms - 1.0)
            if use_wrk:
                probe = drive_wrk(servers["webhook"], tmp, bodies_file, 2, args.connections,
                                  pause, args.requests)
                own_ms = 1000.0 * args.connections / probe["rps"] - pause
                pause = max(0.0, cycle_ms - own_ms)
            half = run(servers["webhook"], args.requests // 2, pause, target)
            half["all"] = [round(half["rps"])]
            half["max"] = current["rps"]
            results["webhook at half load"] = half
            # the floor under that figure: the echo at the very same pace (the pauses of the
            # webhook's run), so the machine's own tail at that request rate is in view
            floor = run(servers["echo"], args.requests // 2, pause, target)
            floor["all"] = [round(floor["rps"])]
            results["echo at the same pace"] = floor
            if args.slow_clients:
                results.update(_with_slow_clients(servers, Path(cafile), args.slow_clients,
                                                  run, args.requests, pause, target))
            rss = {label: server.worker_rss_mib() for label, server in servers.items()}
            failed = "Traceback" in (tmp / "oomguard.webhook.app.log").read_text(errors="replace")
        finally:
            for server in servers.values():
                server.stop()
    for label, r in results.items():
        shares = "/".join(f"{s * 100:.0f}" for s in r["shares"])
        print(f"{label:<21} {r['rps']:6.0f} req/s  p50 {r['p50']:5.2f} ms  p99 {r['p99']:6.2f} ms"
              f"  errors {int(r['errors'])}  worker CPU {r['cpu_us']:4.0f} us/req"
              f" (shares % {shares})  RSS "
              + ", ".join(f"{m:.0f}" for m in rss[label.split()[0]]) + " MiB"
              + (f"  rounds {r['all']}" if len(r["all"]) > 1 else ""))
    # The two rounds of a pair ran seconds apart on the same machine: their ratio cancels
    # most of the noise of a shared host, whose speed drifts over minutes. The median of the
    # pairs is the figure; the ratio of the two medians is shown beside it.
    per_pair = [w / e for w, e in zip(results["webhook"]["all"], results["echo"]["all"],
                                        strict=True)]
    ratio = statistics.median(per_pair)
    of_medians = results["webhook"]["rps"] / results["echo"]["rps"]
    half = results["webhook at half load"]
    floor = results["echo at the same pace"]
    errors = int(sum(r["errors"] for r in results.values())) + int(failed)
    slow = results.get("webhook +slow clients")
    if slow is not None:
        slow_echo = results["echo +slow clients"]
        slow_half = results["webhook at half load +slow clients"]
        print(f"with {args.slow_clients} slow clients held open: webhook {slow['rps']:.0f} "
              f"req/s ({slow['rps'] / results['webhook']['rps']:.2f} of without; "
              f"webhook/echo {slow['rps'] / slow_echo['rps']:.2f}), p99 at half load "
              f"{slow_half['p99']:.2f} ms (without: {half['p99']:.2f} ms) [<= 10]")
    print(f"webhook/echo throughput {ratio:.2f} [>= 0.70] (median of {len(per_pair)} pairs "
          f"{', '.join(f'{x:.2f}' for x in per_pair)}; ratio of the medians {of_medians:.2f})"
          f"; p99 at half load ({half['rps']:.0f} req/s, the maximum just before "
          f"{half['max']:.0f}) {half['p99']:.2f} ms [<= 10] (the echo at that pace "
          f"{floor['p99']:.2f} ms); "
          f"errors {errors} [0]; max worker RSS {max(rss['webhook']):.0f} MiB [<= 100]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
