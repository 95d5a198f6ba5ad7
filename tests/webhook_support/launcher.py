"""Start the real webhook: ``python -m oomguard.webhook`` (gunicorn, TLS with a CA made for the test)
on a free 127.0.0.1 port, waited for until ready, always stopped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import trustme

from tests.webhook_support.certs import make_ca

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], seconds: float = 10, every: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


@dataclass
class Server:
    url: str
    port: int
    ca: trustme.CA
    ca_file: Path
    cert_file: Path
    key_file: Path
    policy_dir: Path
    process: subprocess.Popen[bytes]
    log_file: Path

    def session(self) -> requests.Session:
        session = requests.Session()
        # REQUESTS_CA_BUNDLE in the environment would override session.verify
        session.trust_env = False
        session.verify = str(self.ca_file)
        return session

    def post(self, review: dict[str, Any], session: requests.Session | None = None
             ) -> requests.Response:
        return (session or self.session()).post(f"{self.url}/validate", json=review,
                                                timeout=10)

    def get(self, path: str) -> requests.Response:
        return self.session().get(f"{self.url}{path}", timeout=10)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def events(self, name: str) -> list[dict[str, Any]]:
        """The server's JSON log lines of one event (gunicorn's own lines are no JSON)."""
        found = []
        for line in self.log().splitlines():
            try:
                entry = json.loads(line) if line.startswith("{") else None
            except ValueError:  # a traceback line, say
                continue
            if isinstance(entry, dict) and entry.get("event") == name:
                found.append(entry)
        return found

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
                             capture_output=True, text=True, check=False).stdout
        return [int(pid) for pid in out.split()]


def configmap_volume(policy_dir: Path, text: str, generation: int) -> Path:
    """Write the policy the way a ConfigMap volume does: ..data -> ..<ts>/ symlink swap."""
    target = policy_dir / f"..{generation}"
    target.mkdir()
    (target / "policy.yaml").write_text(text)
    tmp_link = policy_dir / "..data_tmp"
    if tmp_link.is_symlink():
        tmp_link.unlink()
    tmp_link.symlink_to(target.name)
    os.replace(tmp_link, policy_dir / "..data")
    link = policy_dir / "policy.yaml"
    if not link.is_symlink():
        link.symlink_to("..data/policy.yaml")
    return link


def start_server(tmp: Path, policy_text: str | None, env: dict[str, str] | None = None,
                 workers: int = 2, threads: int = 8, ready_path: str = "/readyz",
                 extra_args: Sequence[str] = (), cpus: set[int] | None = None
                 ) -> Iterator[Server]:
    """A generator fixture body: yields the running server, stops it afterwards.

    ``cpus``: the CPUs the server may run on (as a container's cpuset would allow)."""
    ca, ca_file, cert_file, key_file = make_ca(tmp)
    policy_dir = tmp / "policy"
    policy_dir.mkdir()
    args = []
    if policy_text is not None:
        args = ["--policy", str(configmap_volume(policy_dir, policy_text, 1))]
    port = free_port()
    log_file = tmp / "server.log"
    process_env = {k: v for k, v in os.environ.items()
                   if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST",
                                "PROMETHEUS_MULTIPROC_DIR", "OOMGUARD_POLICY")}
    process_env.update({"OOMGUARD_RELOAD_INTERVAL": "0.3", "OOMGUARD_NAMESPACE":
                        "oomguard-system", "PYTHONPATH": os.pathsep.join(
                            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                        **(env or {})})
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "oomguard.webhook", "--cert-file", str(cert_file), "--key-file",
             str(key_file), "--port", str(port), "--bind", "127.0.0.1", "--workers",
             str(workers), "--threads", str(threads), *args, *extra_args],
            stdout=log, stderr=subprocess.STDOUT, env=process_env, cwd=tmp,
            preexec_fn=None if cpus is None else lambda: os.sched_setaffinity(0, cpus))
    server = Server(f"https://127.0.0.1:{port}", port, ca, ca_file, cert_file, key_file,
                    policy_dir, process, log_file)
    try:
        # every worker booted (each logs worker-ready), and one of them answers
        ok = wait_for(lambda: process.poll() is not None or (
            server.log().count('"worker-ready"') >= workers and _answers(server, ready_path)),
            seconds=30, every=0.1)
        if not ok or process.poll() is not None:
            raise RuntimeError(f"webhook did not start:\n{server.log()}")
        yield server
    finally:
        stop(process)


def _answers(server: Server, path: str) -> bool:
    try:
        return server.get(path).ok
    except requests.RequestException:
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


running_server = contextlib.contextmanager(start_server)


def cpus_of(pid: int) -> set[int]:
    """The CPUs a process may run on."""
    return os.sched_getaffinity(pid)


def connections_by_worker(server: Server) -> dict[int, int]:
    """Established TCP connections to the server's port, by the worker process holding
    them (from /proc: the sockets' inodes in /proc/net/tcp and in each worker's fds)."""
    established: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == server.port and fields[3] == "01":  # ESTABLISHED
                established.add(fields[9])
    counts: dict[int, int] = {}
    for pid in server.worker_pids():
        held = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in established:
                held += 1
        counts[pid] = held
    return counts
