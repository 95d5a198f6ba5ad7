"""One module per ``oomguard`` subcommand; :data:`oomguard.cli.COMMANDS` lists them.

A command module defines ``NAME``, ``add_parser(subparsers)`` (its options; imports nothing
heavy, every invocation builds every parser) and ``run(args) -> int`` (imports what the
command needs, then runs it). Nothing registers itself on import: adding a command is one
module here plus one entry in ``COMMANDS`` (docs/architecture.md).
"""

from __future__ import annotations

import argparse
from typing import Any, Protocol

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class UsageError(Exception):
    """Bad command line or policy: the dispatcher prints it to stderr and exits 2."""


class Command(Protocol):
    """What :mod:`oomguard.cli` needs of a command module."""

    NAME: str

    def add_parser(self, subparsers: Any) -> argparse.ArgumentParser: ...

    def run(self, args: argparse.Namespace) -> int: ...
