"""``oomguard audit``: lint what actually runs, live workloads and every node's kubelet.

Exit codes: 0 nothing at or above ``--fail-on``; 1 findings at or above it; 2 usage,
policy, credential or API errors (a refused list names the verb and the resource; what
could be read is still audited and reported).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

NAME = "audit"
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
FORMATS = ("text", "json", "sarif", "junit", "github", "policyreport", "html")
REPORT_APIS = ("wgpolicyk8s", "openreports")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="audit a live cluster: running workloads and every node's kubelet",
        description="Judge what runs in a cluster with the oomguard rules: every pod-bearing "
                    "object once, on its top controller, with the LimitRange defaults its "
                    "pods get and the real node sizes; and each node's live kubelet "
                    "configuration (GET /api/v1/nodes/NODE/proxy/configz) with the node "
                    "rules. Reads only (GET).")
    cluster = parser.add_argument_group("cluster")
    cluster.add_argument("--kubeconfig", metavar="FILE",
                         help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or "
                              "the in-cluster service account inside a pod)")
    cluster.add_argument("--context", metavar="NAME", help="kubeconfig context to use")
    scope = cluster.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", metavar="NS",
                       help="audit this namespace (default: the context's namespace)")
    scope.add_argument("-A", "--all-namespaces", action="store_true",
                       help="audit every namespace")
    cluster.add_argument("--page-size", type=int, default=500, metavar="N",
                         help="objects per list request (default: 500, as kubectl)")
    cluster.add_argument("--request-timeout", type=float, default=30.0, metavar="SECONDS",
                         help="timeout of each API request (default: 30)")
    nodes = parser.add_argument_group("nodes")
    nodes.add_argument("--no-kubelet", action="store_true",
                       help="do not read the nodes' kubelet configuration (nodes/proxy)")
    nodes.add_argument("--kubelet-concurrency", type=int, default=16, metavar="N",
                       help="kubelets read at the same time (default: 16)")
    nodes.add_argument("--kubelet-timeout", type=float, default=10.0, metavar="SECONDS",
                       help="timeout of each node's configz request (default: 10)")
    out = parser.add_argument_group("output")
    out.add_argument("--format", action="append", metavar="FMT[:FILE]", default=None,
                     help=f"{', '.join(FORMATS)} (default: text); repeat with :FILE to write "
                          "several reports in one run")
    out.add_argument("--output", "-o", metavar="FILE",
                     help="write the (first) report to FILE instead of stdout")
    out.add_argument("--report-api", choices=REPORT_APIS, default="wgpolicyk8s",
                     help="policyreport format: wgpolicyk8s.io/v1alpha2 PolicyReport "
                          "(default) or openreports.io/v1alpha1 Report")
    out.add_argument("--incidents", action="store_true",
                     help="add the incidents `oomguard diagnose` finds to the HTML report")
    out.add_argument("--fail-on", choices=("error", "warning", "info", "none"),
                     default="error",
                     help="lowest severity that makes the exit code 1 (default: error); none: "
                          "findings never do (a scheduled scan whose reports say it)")
    parser.add_argument("--policy", metavar="FILE",
                        help="policy file (default: .oomguard.yaml in the working directory, "
                             "else the built-in default profile)")
    parser.add_argument("--profile", choices=("default", "strict"),
                        help="built-in profile to use when no policy file is given")
    return parser


def _error(message: str) -> int:
    print(f"oomguard: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _outputs(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = []
    for entry in args.format or ["text"]:
        name, _, target = entry.partition(":")
        if name not in FORMATS:
            raise ValueError(f"unknown format {name!r}; choose from {', '.join(FORMATS)}")
        pairs.append((name, target or None))
    if args.output and pairs[0][1] is None:
        pairs[0] = (pairs[0][0], args.output)
    return pairs


def run(args: argparse.Namespace) -> int:
    from oomguard.policies.config import PolicyError, load_policy

    try:
        outputs = _outputs(args)
    except ValueError as exc:
        return _error(str(exc))
    for option, value in (("--page-size", args.page_size),
                          ("--kubelet-concurrency", args.kubelet_concurrency)):
        if value < 1:
            return _error(f"{option} must be at least 1")
    if args.kubelet_timeout <= 0 or args.request_timeout <= 0:
        return _error("timeouts must be positive")
    try:
        policy = load_policy(args.policy, search_cwd=True, profile=args.profile)
    except PolicyError as exc:
        return _error(str(exc))

    from oomguard.linter.audit.live import LiveOptions, read_cluster
    from oomguard.linter.kube import KubeClient, KubeError
    from oomguard.policies.audit import Audit

    try:
        client = KubeClient.connect(args.kubeconfig, args.context,
                                    timeout=args.request_timeout,
                                    pool_size=max(10, args.kubelet_concurrency + 2))
    except KubeError as exc:
        return _error(str(exc))
    with client:
        namespace = None if args.all_namespaces else (args.namespace or client.namespace)
        audit = Audit(policy, keep_facts=any(name == "json" for name, _ in outputs))
        options = LiveOptions(namespace, page_size=args.page_size,
                              kubelet=not args.no_kubelet,
                              kubelet_workers=args.kubelet_concurrency,
                              kubelet_timeout=args.kubelet_timeout)
        read_cluster(client, audit, options, policy.kinds)
        incidents, note = _incidents(args, client, namespace, policy, audit)
        result = audit.finish()
        where = f"context {client.context}" if client.context else "in-cluster"
        scope = "all namespaces" if namespace is None else f"namespace {namespace}"
        heading = f"{client.server} ({where}), {scope}"
    from oomguard.policies.rule import Severity

    fail_on = None if args.fail_on == "none" else Severity.parse(args.fail_on)
    for name, target in outputs:
        text = _render(name, result, args, fail_on or Severity.ERROR, heading, incidents,
                       note)
        if target is None:
            sys.stdout.write(text)
            continue
        try:
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            return _error(f"cannot write {target}: {exc.strerror}")
    if result.errors:
        return EXIT_ERROR
    if fail_on is not None and any(f.severity >= fail_on for f in result.findings):
        return EXIT_FINDINGS
    return EXIT_OK


def _incidents(args: argparse.Namespace, client: Any, namespace: str | None, policy: Any,
               audit: Any) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The incidents `oomguard diagnose` finds in the same scope (pods, both event APIs,
    nodes, owners; read again, GET only): for the HTML report."""
    if not args.incidents:
        return None, None
    if "html" not in [entry.partition(":")[0] for entry in args.format or []]:
        print("oomguard: notice: --incidents is shown in the html format only",
              file=sys.stderr)
        return None, None
    try:
        from oomguard.linter.snapshot import live_snapshot
        from oomguard.policies.engine import Engine
        from oomguard.policies.incidents import diagnose
    except ImportError:  # a build without diagnose
        return None, ("Incidents are not available in this build: `oomguard diagnose` is "
                      "not installed beside `oomguard audit`.")
    from oomguard.policies.audit import Problem

    snapshot = live_snapshot(client, namespace, page_size=args.page_size,
                             kubelet_configs=False)
    diagnosis = diagnose(snapshot, Engine(policy))
    for problem in diagnosis.errors:
        audit.notices.append(Problem(problem.source, f"incidents not read: {problem.message}"))
    incidents = [incident.to_json() for incident in diagnosis.incidents]
    return incidents, None if incidents else "No incident found in pods, events and nodes."


def _render(name: str, result: Any, args: argparse.Namespace, fail_on: Any, heading: str,
            incidents: list[dict[str, Any]] | None, note: str | None) -> str:
    if name == "text":
        from oomguard.linter.audit import text

        return text.render(result)
    if name == "policyreport":
        from oomguard.policies.audit.reports import build_reports, reports_yaml

        return reports_yaml(build_reports(result, args.report_api))
    if name == "html":
        from datetime import datetime, timezone

        from oomguard.linter.audit import html

        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return html.render(result, title="oomguard audit", generated=f"{heading} - {stamp}",
                           incidents=incidents, incidents_note=note)
    from oomguard import __version__
    from oomguard.linter.audit.report import as_lint_report
    from oomguard.linter.formats import RenderContext, formatter

    report = as_lint_report(result)
    if name == "json":
        import orjson

        from oomguard.linter.formats.json_format import as_dict

        data = as_dict(report)
        data["nodes"] = [node.to_json() for node in result.nodes]
        # lint's layout (two-space indent); orjson writes one buffer, where json.dumps with
        # an indent joins a list of millions of small strings (0.9 GiB at 5,000 nodes)
        return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"
    return formatter(name).render(report, RenderContext(fail_on, __version__))
