"""``oomguard webhook``: the Flask app under gunicorn, over TLS, with keep-alive.

gunicorn runs the workers (``webhook/worker.py``: an event loop per worker reads whole
requests under time limits, threads run the app), which keep HTTPS connections alive
(kube-apiserver reuses its connections to webhooks). Certificates are read through a
reloading SSL context: a rotated certificate/key pair is served to new connections,
in-flight ones keep theirs, and a half-written pair is never loaded.
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

from gunicorn.app.base import BaseApplication

from oomguard.webhook import compat_gunicorn, compat_logging, logs
from oomguard.webhook.balance import ConnectionCounts
from oomguard.webhook.worker import ServeLimits

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
    # threads run the app on whole requests only (webhook/worker.py): they are for reviews
    # in flight at once, not for connections
    parser.add_argument("--threads", type=_positive, default=8,
                        help="threads per worker running the app (default 8)")
    parser.add_argument("--cpu-affinity", default="auto", choices=["auto", "off"],
                        help="auto (default): give each worker a CPU of its own when the "
                             "workers are at least as many as the CPUs allowed")
    parser.add_argument("--judge-timeout", type=_judge_seconds, default=None,
                        help="seconds one review may be judged for (default: the policy's "
                             "webhook.judge-timeout, 2)")
    parser.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error", "critical"])
    limits = parser.add_argument_group(
        "client limits", "each one closes the connection that exceeds it (counted in "
        "oomguard_connections_closed_total)")
    defaults = ServeLimits()
    limits.add_argument("--handshake-timeout", type=_seconds, metavar="SECONDS",
                        default=defaults.handshake_timeout,
                        help="seconds for the TLS handshake (default %(default)s)")
    limits.add_argument("--header-timeout", type=_seconds, metavar="SECONDS",
                        default=defaults.header_timeout,
                        help="seconds from a request's first byte, or from the handshake, "
                             "to the end of its header fields (default %(default)s)")
    limits.add_argument("--body-timeout", type=_seconds, metavar="SECONDS",
                        default=defaults.body_timeout,
                        help="seconds from the end of the header fields to the end of the "
                             "body, and for the client to take an answer (default %(default)s)")
    limits.add_argument("--keepalive-timeout", type=_seconds, metavar="SECONDS",
                        default=defaults.keepalive_timeout,
                        help="seconds an idle keep-alive connection is kept (default "
                             "%(default)s)")
    limits.add_argument("--max-connections", type=_positive, metavar="N",
                        default=defaults.max_connections,
                        help="connections a worker holds; past it the oldest that never "
                             "completed a request is closed (default %(default)s)")
    limits.add_argument("--max-pending-mib", type=_positive, metavar="MIB",
                        default=defaults.max_pending_bytes >> 20,
                        help="MiB of unfinished requests a worker holds; past it a request "
                             "is refused with 503 (default %(default)s)")
    # benchmarks serve another WSGI app under exactly these settings (bench/webhook_load.py)
    parser.add_argument("--app", default="oomguard.webhook.app:create_app", help=argparse.SUPPRESS)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _judge_seconds(text: str) -> float:
    """--judge-timeout: as the policy's webhook.judge-timeout, at most kube-apiserver's cap
    on a webhook's timeoutSeconds (30)."""
    value = _seconds(text)
    if value > 30:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 30, got {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 3600:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600 seconds, got {text}")
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


class StartupError(Exception):
    """A bad policy file or TLS pair: reported, exit code 2."""


def _load_startup(args: argparse.Namespace) -> CertificateReloader:
    """Check the policy and read the certificates before any worker starts (a bad policy
    fails now; the workers fall back to the checked one later if need be)."""
    from oomguard.policies.config import PolicyError, load_policy

    try:
        policy = load_policy(args.policy) if args.policy else None
        reloader = CertificateReloader(args.cert_file, args.key_file)
    except PolicyError as exc:
        raise StartupError(str(exc)) from exc
    except (OSError, ssl.SSLError) as exc:
        raise StartupError(f"cannot load the TLS certificate/key: {exc}") from exc
    if args.policy:
        os.environ["OOMGUARD_POLICY"] = os.path.abspath(args.policy)
    if args.judge_timeout is not None:  # the workers read it (webhook.app.judge_timeout)
        os.environ["OOMGUARD_JUDGE_TIMEOUT"] = repr(args.judge_timeout)
    # imported only after _metrics_dir: prometheus_client reads PROMETHEUS_MULTIPROC_DIR at
    # import, and runtime imports it
    _Hooks.made_dir = _metrics_dir()
    from oomguard.webhook import runtime

    runtime.startup_policy = policy
    return reloader


def _limits(args: argparse.Namespace) -> ServeLimits:
    return ServeLimits(handshake_timeout=args.handshake_timeout,
                       header_timeout=args.header_timeout, body_timeout=args.body_timeout,
                       keepalive_timeout=args.keepalive_timeout,
                       max_connections=args.max_connections,
                       max_pending_bytes=args.max_pending_mib << 20)


def _refused(status: int, message: str, remote: str) -> None:
    """A request the server refused before the app saw it, logged and counted as the app's
    own bad requests are."""
    from oomguard.webhook import metrics

    metrics.child(metrics.BAD_REQUESTS, str(status)).inc()
    logs.event(logging.WARNING, "bad-request", status=status, error=message[:300],
               remote=remote)


def _closed(reason: str) -> None:
    from oomguard.webhook import metrics

    metrics.child(metrics.CONNECTIONS_CLOSED, reason).inc()


class _Hooks:
    """gunicorn's server hooks (its ``pre_fork`` ... ``on_exit`` settings)."""

    made_dir: str | None = None  # the metrics directory this process made, removed at exit

    def __init__(self, args: argparse.Namespace, counts: ConnectionCounts) -> None:
        from oomguard.webhook import affinity

        self.args = args
        self.counts = counts
        self.cpus = affinity.allowed_cpus()  # the master's, which it keeps: workers inherit

    def pre_fork(self, server: Any, worker: Any) -> None:  # in the master
        worker.slot = self.counts.claim({w.slot for w in compat_gunicorn.live_workers(server)})

    def post_fork(self, server: Any, worker: Any) -> None:  # before the app is loaded
        from oomguard.webhook import affinity

        # first, so that every thread the worker starts runs there too (webhook/affinity.py)
        worker.cpu = affinity.pin(affinity.cpu_for(worker.slot, self.cpus, self.args.workers,
                                                   self.args.cpu_affinity))
        logging.basicConfig(level=self.args.log_level.upper(), format="%(message)s",
                            stream=sys.stderr)
        # the records are JSON lines of their own: skip finding the caller and the like
        compat_logging.skip_caller_lookup()
        # (gunicorn's own format prints the process id: that one stays)
        logging.logThreads = logging.logMultiprocessing = False

    def post_worker_init(self, worker: Any) -> None:
        # the app, the policy and the imported modules live as long as the worker: keep them
        # out of the garbage collector's full passes
        gc.freeze()
        logs.event(logging.INFO, "worker-ready", pid=os.getpid(), cpu=worker.cpu)

    def worker_exit(self, server: Any, worker: Any) -> None:  # in the worker, as it stops
        from oomguard.webhook import metrics

        metrics.flush()
        logs.flush()

    def child_exit(self, server: Any, worker: Any) -> None:  # in the master
        from prometheus_client import multiprocess

        self.counts.release(worker.slot)
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]

    def on_exit(self, server: Any) -> None:
        if self.made_dir:
            shutil.rmtree(self.made_dir, ignore_errors=True)


def _options(args: argparse.Namespace, hooks: _Hooks) -> dict[str, Any]:
    from oomguard.webhook.worker import EventLoopWorker

    return {
        "bind": f"{args.bind}:{args.port}" if ":" not in args.bind else
        f"[{args.bind}]:{args.port}",
        "workers": args.workers,
        # an event loop reads whole requests, threads run the app (webhook/worker.py); TLS
        # is the worker's own, through the reloading context
        "worker_class": EventLoopWorker,
        # one listening socket shared by the workers, each listening on it only while it has
        # no more connections than the others (webhook/worker.py); SO_REUSEPORT's sockets
        # per worker would leave the choice of worker to the kernel's hash of each connection
        "reuse_port": False,
        "threads": args.threads,
        "timeout": 30,
        "graceful_timeout": 20,
        "pre_fork": hooks.pre_fork,
        "post_fork": hooks.post_fork,
        "post_worker_init": hooks.post_worker_init,
        "worker_exit": hooks.worker_exit,
        "child_exit": hooks.child_exit,
        "on_exit": hooks.on_exit,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": args.log_level,
        "proc_name": "oomguard-webhook",
        # no control socket: it would be written under $HOME, read-only in the chart's pods
        "control_socket_disable": True,
    }


class WebhookApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn run with the options given here, no configuration file or command line."""

    def __init__(self, options: dict[str, Any], app: str) -> None:
        self.options, self.app_path = options, app
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        import importlib

        module, _, factory = self.app_path.partition(":")
        return getattr(importlib.import_module(module), factory)()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        reloader = _load_startup(args)
    except StartupError as exc:
        print(f"oomguard webhook: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from oomguard.webhook import worker

    # workers come and go (a crash, TTIN/TTOU): slots for more than are running at once
    counts = ConnectionCounts(max(64, 4 * args.workers))
    worker.settings = worker.Settings(ssl_context=reloader.current, limits=_limits(args),
                                      counts=counts, on_refusal=_refused, on_close=_closed)
    WebhookApplication(_options(args, _Hooks(args, counts)), args.app).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
