"""``oomguard webhook ARGS``: the validating admission webhook (``oomguard.webhook.server``).

The server parses its own options: the dispatcher hands it everything after ``webhook``
untouched (:func:`main`), since argparse's REMAINDER cannot take a leading option.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

NAME = "webhook"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="run the validating admission webhook", add_help=False)
    parser.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def run(args: argparse.Namespace) -> int:
    return main(args.args)


def main(argv: Sequence[str]) -> int:
    from oomguard.webhook.server import main as server_main  # flask, gunicorn: only here

    return server_main(list(argv))
