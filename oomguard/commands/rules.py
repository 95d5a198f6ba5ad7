"""``oomguard rules``: the rule catalog, one line per rule."""

from __future__ import annotations

import argparse
from typing import Any

from oomguard.commands import EXIT_OK

NAME = "rules"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(NAME, help="list the rule catalog")
    return parser


def run(args: argparse.Namespace) -> int:
    from oomguard.policies.registry import catalog

    for rule in catalog():
        state = "" if rule.enabled else " (off by default)"
        print(f"{rule.code}  {rule.name:<38} {rule.severity!s:<8} {rule.scope.value}{state}")
    return EXIT_OK
