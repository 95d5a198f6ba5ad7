"""``oomguard webhook``: the Flask app under gunicorn, over TLS, with keep-alive.

gunicorn's threaded worker, in the variant of ``webhook/worker.py``, keeps HTTPS connections
alive (kube-apiserver reuses its connections to webhooks; the sync worker would close every
one). Certificates are read through a reloading SSL context: a rotated certificate/key pair
is served to new connections, in-flight ones keep theirs, and a half-written pair is never
loaded.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import shutil
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import Any

from oomguard.webhook import logs

EXIT_USAGE = 2


class CertificateReloader:
    """The SSL context for new connections, rebuilt when the certificate files change."""

    CHECK_EVERY = 1.0

    def __init__(self, certfile: str, keyfile: str) -> None:
        self.certfile, self.keyfile = certfile, keyfile
        self._lock = threading.Lock()
        self._signature = self._stat()
        self.context = self._build()
        self._checked = time.monotonic()

    def _stat(self) -> tuple[Any, ...]:
        out: list[Any] = []
        for path in (self.certfile, self.keyfile):
            try:
                st = os.stat(os.path.realpath(path))
                out.append((st.st_ino, st.st_mtime_ns, st.st_size))
            except OSError:
                out.append(None)
        return tuple(out)

    def _build(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        context.load_cert_chain(certfile=self.certfile, keyfile=self.keyfile)
        return context

    def current(self) -> ssl.SSLContext:
        now = time.monotonic()
        if now - self._checked < self.CHECK_EVERY:
            return self.context
        with self._lock:
            self._checked = now
            signature = self._stat()
            if signature != self._signature:
                try:
                    self.context = self._build()
                    self._signature = signature
                    logs.event(logging.INFO, "certificate-reloaded", file=self.certfile)
                except (OSError, ssl.SSLError, ValueError):
                    pass  # mid-rotation (cert and key not yet a pair): keep the old one
        return self.context


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oomguard webhook",
                                     description="Run the validating admission webhook.")
    parser.add_argument("--cert-file", required=True, help="TLS certificate (PEM)")
    parser.add_argument("--key-file", required=True, help="TLS private key (PEM)")
    parser.add_argument("--port", type=_port, default=8443, help="HTTPS port (default 8443)")
    parser.add_argument("--bind", default="0.0.0.0", help="address to listen on")
    parser.add_argument("--policy", default=os.environ.get("OOMGUARD_POLICY"),
                        help="policy file, reloaded when it changes (env OOMGUARD_POLICY)")
    parser.add_argument("--workers", type=_positive, default=2, help="gunicorn worker processes")
    # a thread stays on its keep-alive connection while requests keep coming on it: enough
    # threads for the connections kube-apiserver keeps to one worker
    parser.add_argument("--threads", type=_positive, default=8,
                        help="threads per worker (default 8)")
    parser.add_argument("--cpu-affinity", default="auto", choices=["auto", "off"],
                        help="auto (default): give each worker a CPU of its own when the "
                             "workers are at least as many as the CPUs allowed")
    parser.add_argument("--judge-timeout", type=_seconds, default=None,
                        help="seconds one review may be judged for (default: the policy's "
                             "webhook.judge-timeout, 2)")
    parser.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error", "critical"])
    # benchmarks serve another WSGI app under exactly these settings (bench/webhook_load.py)
    parser.add_argument("--app", default="oomguard.webhook.app:create_app", help=argparse.SUPPRESS)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 30:  # (NaN fails this too)
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 30, got {text}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"not a TCP port: {value}")
    return value


def _metrics_dir() -> str | None:
    """PROMETHEUS_MULTIPROC_DIR for the workers' samples, emptied before they start (a
    container restart keeps an emptyDir, and stale files would add up into the new counts).
    Returns the directory to remove at exit when this process made it."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        os.makedirs(given, exist_ok=True)
        for name in os.listdir(given):
            if name.endswith(".db"):
                os.unlink(os.path.join(given, name))
        return None
    made = tempfile.mkdtemp(prefix="oomguard-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    return made


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    from oomguard.policies.config import PolicyError, load_policy

    try:
        # fail fast on a bad policy at start-up; workers fall back to it later if need be
        policy = load_policy(args.policy) if args.policy else None
        reloader = CertificateReloader(args.cert_file, args.key_file)
    except PolicyError as exc:
        print(f"oomguard webhook: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, ssl.SSLError) as exc:
        print(f"oomguard webhook: cannot load the TLS certificate/key: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.policy:
        os.environ["OOMGUARD_POLICY"] = os.path.abspath(args.policy)
    if args.judge_timeout is not None:  # the workers read it (webhook.app.judge_timeout)
        os.environ["OOMGUARD_JUDGE_TIMEOUT"] = repr(args.judge_timeout)
    made_dir = _metrics_dir()
    # imported only now: prometheus_client reads PROMETHEUS_MULTIPROC_DIR at import
    from oomguard.webhook import runtime

    runtime.startup_policy = policy
    from gunicorn.app.base import BaseApplication

    from oomguard.webhook import affinity
    from oomguard.webhook import worker as worker_module

    cpus = affinity.allowed_cpus()  # the master's, which it keeps: workers inherit them

    # workers come and go (a crash, TTIN/TTOU): slots for more than are running at once
    counts = worker_module.shared_counts = worker_module.ConnectionCounts(
        max(64, 4 * args.workers))

    def ssl_context(conf: Any, default_factory: Any) -> ssl.SSLContext:
        return reloader.current()

    def post_fork(server: Any, worker: Any) -> None:  # before the app is loaded
        # first, so that every thread the worker starts runs there too (webhook/affinity.py)
        worker.cpu = affinity.pin(affinity.cpu_for(worker.slot, cpus, args.workers,
                                                   args.cpu_affinity))
        logging.basicConfig(level=args.log_level.upper(), format="%(message)s",
                            stream=sys.stderr)
        # the records are JSON lines of their own: skip finding the caller and the like
        logging._srcfile = None  # type: ignore[attr-defined]
        # (gunicorn's own format prints the process id: that one stays)
        logging.logThreads = logging.logMultiprocessing = False

    def post_worker_init(worker: Any) -> None:
        # the app, the policy and the imported modules live as long as the worker: keep them
        # out of the garbage collector's full passes
        gc.freeze()
        logs.event(logging.INFO, "worker-ready", pid=os.getpid(), cpu=worker.cpu)

    def worker_exit(server: Any, worker: Any) -> None:  # in the worker, as it stops
        from oomguard.webhook import metrics

        metrics.flush()
        logs.flush()

    def on_exit(server: Any) -> None:
        if made_dir:
            shutil.rmtree(made_dir, ignore_errors=True)

    def pre_fork(server: Any, worker: Any) -> None:  # in the master
        worker.slot = counts.claim({w.slot for w in server.WORKERS.values()})

    def child_exit(server: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        counts.release(worker.slot)

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]

    options = {
        "bind": f"{args.bind}:{args.port}" if ":" not in args.bind else
        f"[{args.bind}]:{args.port}",
        "workers": args.workers,
        # gthread, except that a thread waits on its kept-alive connection for the next request
        # instead of handing it back to the poller each time (webhook/worker.py)
        "worker_class": "webhook.worker.LingeringThreadWorker",
        # one listening socket shared by the workers, each listening on it only while it has
        # no more connections than the others (webhook/worker.py); SO_REUSEPORT's sockets
        # per worker would leave the choice of worker to the kernel's hash of each connection
        "reuse_port": False,
        "threads": args.threads,
        "keepalive": 75,  # longer than kube-apiserver's idle connection reuse
        "timeout": 30,
        "graceful_timeout": 20,
        "certfile": args.cert_file,
        "keyfile": args.key_file,
        "ssl_context": ssl_context,
        "pre_fork": pre_fork,
        "post_fork": post_fork,
        "post_worker_init": post_worker_init,
        "worker_exit": worker_exit,
        "child_exit": child_exit,
        "on_exit": on_exit,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": args.log_level,
        "proc_name": "oomguard-webhook",
        # no control socket: it would be written under $HOME, read-only in the chart's pods
        "control_socket_disable": True,
    }

    class WebhookApplication(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            import importlib

            module, _, factory = args.app.partition(":")
            return getattr(importlib.import_module(module), factory)()

    WebhookApplication().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
