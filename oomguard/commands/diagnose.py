"""``oomguard diagnose``: explain memory incidents from a live cluster, kubectl dumps and
kernel logs.

Exit codes: 0 no incident (of the ``--fail-on`` types); 1 incidents; 2 input, usage or API
errors (everything else is still diagnosed and reported).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

NAME = "diagnose"
EXIT_OK = 0
EXIT_INCIDENTS = 1
EXIT_ERROR = 2
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_CONFIDENCE = ("certain", "likely", "possible")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="explain memory incidents (OOM kills, evictions, Pending) from a "
                         "cluster, kubectl dumps and kernel logs",
        description="Explain why pods were OOM-killed, evicted, refused or left Pending, and "
                    "which oomguard findings would have prevented it. With PATHs, read "
                    "kubectl dumps (-o yaml/json) and kernel logs (dmesg, journalctl -k); "
                    "without, read the cluster of the current kubeconfig context (GET only).")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="files, directories or - (stdin); none: the live cluster")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    live = parser.add_argument_group("live cluster")
    live.add_argument("--kubeconfig", metavar="FILE")
    live.add_argument("--context", metavar="NAME")
    live.add_argument("--namespace", "-n", metavar="NS",
                      help="namespace to read (default: the context's)")
    live.add_argument("--all-namespaces", "-A", action="store_true")
    live.add_argument("--page-size", type=int, default=500, metavar="N",
                      help="items per list request (default: 500)")
    live.add_argument("--request-timeout", type=float, default=30.0, metavar="SECONDS")
    live.add_argument("--no-node-config", action="store_true",
                      help="do not read the kubelet configuration (configz) of incident nodes")
    parser.add_argument("--since", metavar="DURATION|TIME",
                        help="only evidence newer than this: 1h, 30m, 2d, or an RFC 3339 time")
    parser.add_argument("--type", action="append", default=[], metavar="TYPE",
                        help="report only these incident types (repeatable, comma separated)")
    parser.add_argument("--min-confidence", choices=_CONFIDENCE, default="possible",
                        help="report only incidents at least this sure (default: possible)")
    parser.add_argument("--fail-on", default="any", metavar="TYPES",
                        help="incident types that make the exit code 1: any (default), none, "
                             "or a comma separated list")
    parser.add_argument("--policy", metavar="FILE",
                        help="policy for the prevention findings (default: .oomguard.yaml, "
                             "else the built-in default profile)")
    parser.add_argument("--profile", choices=("default", "strict"))
    parser.add_argument("--max-file-size", default="256Mi", metavar="SIZE",
                        help="larger files are not read but reported as input errors")
    return parser


class _Usage(Exception):
    pass


def _types(values: list[str], flag: str) -> set[str]:
    from oomguard.policies.incidents.model import TYPES

    wanted = {t.strip() for v in values for t in v.split(",") if t.strip()}
    unknown = wanted - set(TYPES)
    if unknown:
        raise _Usage(f"{flag}: unknown incident type {', '.join(sorted(unknown))}; choose "
                     f"from {', '.join(TYPES)}")
    return wanted


def parse_since(value: str | None, now: datetime) -> datetime | None:
    if not value:
        return None
    match = _DURATION.match(value.strip())
    if match and any(match.groups()):
        d, h, m, s = (int(g or 0) for g in match.groups())
        return now - timedelta(days=d, hours=h, minutes=m, seconds=s)
    from oomguard.policies.incidents.events import parse_time

    moment = parse_time(value)
    if moment is None:
        raise _Usage(f"--since {value!r}: give a duration (1h, 30m, 2d, 90s) or an RFC 3339 "
                     "time (2026-03-27T10:00:00Z)")
    return moment


def _byte_count(value: str) -> int:
    from oomguard.policies.quantity import QuantityError, parse_quantity

    try:
        count = int(parse_quantity(value))
    except (QuantityError, ValueError, ArithmeticError):
        raise _Usage(f"--max-file-size {value!r} is not a quantity of bytes") from None
    if count <= 0:
        raise _Usage("--max-file-size must be positive")
    return count


def run(args: argparse.Namespace) -> int:
    import gc

    # A dump is millions of small objects that live until the end: the cyclic collector
    # would walk all of them again and again (a third of the run on 10,000 pods) and free
    # nothing. The run is short; its few cycles are freed when the process ends.
    gc.disable()
    try:
        return _run(args)
    except _Usage as exc:
        print(f"oomguard diagnose: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        gc.enable()


def _run(args: argparse.Namespace) -> int:
    from oomguard.policies.config import PolicyError, load_policy
    from oomguard.policies.engine import Engine
    from oomguard.policies.incidents import diagnose

    only = _types(args.type, "--type")
    fail_on = None if args.fail_on == "any" else set() if args.fail_on == "none" else \
        _types([args.fail_on], "--fail-on")
    since = parse_since(args.since, datetime.now(timezone.utc))
    if args.page_size < 1:
        raise _Usage("--page-size must be at least 1")
    try:
        policy = load_policy(args.policy, search_cwd=True, profile=args.profile)
    except PolicyError as exc:
        raise _Usage(str(exc)) from None
    client = None
    if args.paths:
        from oomguard.linter.snapshot import load_files

        snapshot = load_files(list(args.paths), max_file_size=_byte_count(args.max_file_size))
    else:
        from oomguard.linter.kube import KubeClient, KubeError
        from oomguard.linter.snapshot import live_snapshot

        try:
            client = KubeClient.connect(args.kubeconfig, args.context,
                                        timeout=args.request_timeout)
        except KubeError as exc:
            print(f"oomguard diagnose: error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        namespace = None if args.all_namespaces else (args.namespace or client.namespace)
        snapshot = live_snapshot(client, namespace, page_size=args.page_size,
                                 kubelet_configs=not args.no_node_config)
    try:
        diagnosis = diagnose(snapshot, Engine(policy), since=since)
    finally:
        if client is not None:
            client.close()
    order = _CONFIDENCE.index(args.min_confidence)
    diagnosis.incidents = [i for i in diagnosis.incidents
                           if (not only or i.type in only)
                           and _CONFIDENCE.index(i.confidence) <= order]
    return _emit(args, diagnosis, fail_on)


def _emit(args: argparse.Namespace, diagnosis: Any, fail_on: set[str] | None) -> int:
    from oomguard.linter.incident_report import json_chunks, problems_text, text_chunks

    # written as it is made: a large cluster's report is never all in memory
    chunks: Iterator[bytes] = json_chunks(diagnosis) if args.format == "json" else (
        chunk.encode() for chunk in text_chunks(diagnosis))
    if args.format == "text" or args.output:
        for line in problems_text(diagnosis):
            print(line, file=sys.stderr)
    if args.output:
        try:
            with open(args.output, "wb") as handle:
                handle.writelines(chunks)
        except OSError as exc:
            print(f"oomguard diagnose: error: cannot write {args.output}: {exc.strerror}",
                  file=sys.stderr)
            return EXIT_ERROR
    else:
        _write_stdout(chunks)
    if diagnosis.errors:
        return EXIT_ERROR
    failing = [i for i in diagnosis.incidents if fail_on is None or i.type in fail_on]
    return EXIT_INCIDENTS if failing else EXIT_OK


def _write_stdout(chunks: Iterable[bytes]) -> None:
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # stdout replaced by a text-only stream (an embedding program)
        sys.stdout.writelines(chunk.decode() for chunk in chunks)
        return
    sys.stdout.flush()
    buffer.writelines(chunks)
    buffer.flush()
