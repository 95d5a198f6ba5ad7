"""``oomguard lint``: manifests, directories, stdin, Helm charts and node configuration.

Exit codes: 0 nothing at or above ``--fail-on``; 1 findings at or above it; 2 usage,
policy or input errors (every other input is still linted and reported).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from oomguard import __version__
from oomguard.commands import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError

NAME = "lint"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    lint: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="lint manifests, directories, stdin, Helm charts and node configuration")
    lint.add_argument("paths", nargs="*", metavar="PATH", help="files, directories or - "
                                                               "for stdin (default: .)")
    lint.add_argument("--format", action="append", metavar="FMT[:FILE]", default=None,
                      help="text (default), json, sarif, junit or github; repeat with :FILE "
                           "to write several reports in one run")
    lint.add_argument("--output", "-o", metavar="FILE",
                      help="write the (first) report to FILE instead of stdout")
    lint.add_argument("--fail-on", choices=("error", "warning", "info"), default="error",
                      help="lowest severity that makes the exit code 1 (default: error)")
    lint.add_argument("--policy", metavar="FILE",
                      help="policy file (default: .oomguard.yaml in the working directory, "
                           "else the built-in default profile)")
    lint.add_argument("--profile", choices=("default", "strict"),
                      help="built-in profile to use when no policy file is given")
    lint.add_argument("--action", choices=("deny", "warn", "audit"),
                      help="preview a rollout stage: the action each finding gets (json key "
                           "`action`, text when not the default) as in a namespace labelled "
                           "oomguard.io/action=ACTION (default: the policy's webhook.action)")
    lint.add_argument("--input-type", choices=("manifest", "kubelet-config", "kubelet-flags",
                                               "sysctl"),
                      help="read every input as this type instead of detecting it")
    lint.add_argument("--skip-non-kubernetes", action="store_true",
                      help="a named file that holds no Kubernetes object is skipped with a "
                           "notice, as in a directory walk (pre-commit passes every YAML file)")
    lint.add_argument("--parse-all", action="store_true",
                      help="parse every document, also those of kinds oomguard never judges "
                           "(CRDs, Services, ...), so their YAML syntax errors are reported too")
    lint.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, metavar="N",
                      help="worker processes for large inputs (default: number of cores)")
    lint.add_argument("--max-file-size", default="256Mi", metavar="SIZE",
                      help="larger files are not read but reported as input errors, a "
                           "Kubernetes quantity of bytes (default: 256Mi)")
    helm = lint.add_argument_group("Helm charts")
    helm.add_argument("--helm", action="append", default=[], metavar="CHART",
                      help="render this chart directory and lint the result")
    helm.add_argument("-f", "--values", action="append", default=[], metavar="FILE",
                      help="values file for --helm charts (repeatable)")
    helm.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="value override for --helm charts (repeatable)")
    helm.add_argument("--release-name", default="release", metavar="NAME")
    helm.add_argument("--namespace", default="default", metavar="NS")

    return lint


def _formats(requested: list[str] | None, output: str | None) -> list[tuple[str, str | None]]:
    from oomguard.linter.formats import FORMATS

    pairs: list[tuple[str, str | None]] = []
    for entry in requested or ["text"]:
        name, _, target = entry.partition(":")
        if name not in FORMATS:
            raise UsageError(f"unknown format {name!r}; choose from {', '.join(FORMATS)}")
        pairs.append((name, target or None))
    if output and pairs[0][1] is None:
        pairs[0] = (pairs[0][0], output)
    return pairs


def run(args: argparse.Namespace) -> int:
    from oomguard.linter.formats import RenderContext, formatter
    from oomguard.linter.runner import lint_paths
    from oomguard.policies.actions import ActionResolver
    from oomguard.policies.config import PolicyError, load_policy
    from oomguard.policies.rule import Severity

    try:
        outputs = _formats(args.format, args.output)
        policy = load_policy(args.policy, search_cwd=True, profile=args.profile)
    except PolicyError as exc:
        raise UsageError(str(exc)) from None
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    max_file_size = _byte_count(args.max_file_size, "--max-file-size")
    paths = list(args.paths)
    helm_errors: list[Any] = []
    if args.helm or any(_is_chart(p) for p in paths):
        from oomguard.linter.helm import render_charts

        charts = list(args.helm) + [p for p in paths if _is_chart(p)]
        paths = [p for p in paths if not _is_chart(p)]
        helm_sources = _helm_sources(args)
        rendered, helm_errors, cleanup = render_charts(
            charts, values=args.values, set_values=args.set, release=args.release_name,
            namespace=args.namespace, sources=helm_sources)
        paths.extend(path for path, _ in rendered)
        names = dict(rendered)
    else:
        cleanup = None
        names = {}
        helm_sources = None
    if not paths and not args.helm and not helm_errors and not args.paths:
        paths = ["."]
    try:
        report = lint_paths(paths, policy, input_type=args.input_type, jobs=args.jobs,
                            keep_facts=any(name == "json" for name, _ in outputs),
                            parse_all=args.parse_all, names=names,
                            strict_inputs=not args.skip_non_kubernetes,
                            max_file_size=max_file_size)
    finally:
        if cleanup is not None:
            cleanup()
    report.errors[:0] = helm_errors
    if helm_sources is not None and report.findings:
        report.findings, report.helm_sources = helm_sources.locate(report.findings)
    fail_on = Severity.parse(args.fail_on)
    context = RenderContext(fail_on, __version__, ActionResolver(policy, args.action))
    for name, target in outputs:
        text = formatter(name).render(report, context)
        if target is None:
            sys.stdout.write(text)
        else:
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(text)
    if report.errors:
        return EXIT_ERROR
    if any(f.severity >= fail_on for f in report.findings):
        return EXIT_FINDINGS
    return EXIT_OK


def _helm_sources(args: argparse.Namespace) -> Any:
    """Where findings on rendered charts come from (template lines, values keys), unless
    OOMGUARD_HELM_SOURCE_MAP=0 asks for rendered positions only (the bench's baseline)."""
    if os.environ.get("OOMGUARD_HELM_SOURCE_MAP") == "0":
        return None
    from oomguard.linter.sourcemap.build import HelmSources

    parse_set = None
    try:
        import helm_python

        parse_set = helm_python.parse_set_string
    except Exception:  # noqa: BLE001 - no SDK (or its library fails): --set keys unnamed
        parse_set = None
    return HelmSources(args.values, args.set, parse_set)


def _byte_count(text: str, option: str) -> int:
    from oomguard.policies.quantity import QuantityError, parse_quantity

    try:
        value = parse_quantity(text)
    except QuantityError as exc:
        raise UsageError(f"{option}: {text!r} is not a quantity of bytes ({exc})") from None
    if value < 1:
        raise UsageError(f"{option} must be at least 1 byte")
    return int(value)


def _is_chart(path: str) -> bool:
    return path != "-" and os.path.isfile(os.path.join(path, "Chart.yaml"))
