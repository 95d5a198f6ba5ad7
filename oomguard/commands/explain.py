"""``oomguard explain CODE|NAME``: one rule's documentation as Markdown."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from oomguard.commands import EXIT_OK, UsageError

NAME = "explain"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="print a rule's documentation")
    parser.add_argument("rule", metavar="CODE|NAME")
    return parser


def run(args: argparse.Namespace) -> int:
    from oomguard.policies.docs import rule_markdown
    from oomguard.policies.registry import catalog

    rule = catalog().get(args.rule)
    if rule is None:
        raise UsageError(f"no rule {args.rule!r}; `oomguard rules` lists them")
    sys.stdout.write(rule_markdown(rule))
    return EXIT_OK
