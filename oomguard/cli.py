"""The ``oomguard`` command (pre-commit style: ``main(argv) -> int``).

It sits above the linter and the webhook, which are peers: each subcommand is one module of
:mod:`oomguard.commands`, listed in :data:`COMMANDS` (an explicit list, no registration on
import). Parsers are built from every module; only the chosen command's ``run()`` imports
what it needs (CLI start-up time matters: ``oomguard rules`` never imports the engine's
YAML loader, ``oomguard lint`` never imports flask or gunicorn).

Exit codes: 0 ok; 1 findings at or above ``--fail-on``; 2 usage, policy or input errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from oomguard import __version__
from oomguard.commands import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_OK,
    Command,
    UsageError,
    diagnose,
    explain,
    lint,
    rules,
    vap,
    webhook,
)

# Adding a command: a module in oomguard/commands/ and one entry here (help lists them in
# this order).
COMMANDS: tuple[Command, ...] = (lint, rules, explain, vap, diagnose, webhook)

__all__ = ["COMMANDS", "EXIT_ERROR", "EXIT_FINDINGS", "EXIT_OK", "UsageError", "build_parser",
           "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oomguard", description="Catch Kubernetes out-of-memory risks before they happen.")
    parser.add_argument("--version", action="version", version=f"oomguard {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [webhook.NAME]:  # the server parses its own options
        return webhook.main(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and EXIT_ERROR
    by_name = {command.NAME: command for command in COMMANDS}
    command = by_name.get(args.command)
    if command is None:
        parser.print_help()
        return EXIT_ERROR
    try:
        return command.run(args)
    except UsageError as exc:
        print(f"oomguard: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
