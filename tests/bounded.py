"""Run the ``oomguard`` command in a child process under hard limits.

Hostile-input tests must prove that a bad input terminates and stays small, so the command
runs in a subprocess with a wall-clock timeout and an address-space limit
(``resource.setrlimit(RLIMIT_AS)``): a hang fails the test instead of hanging CI, and an
alias bomb that grows past the limit dies with MemoryError instead of taking the machine.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT = 30.0  # seconds of wall clock for the whole command
DEFAULT_ADDRESS_SPACE = 1 << 30  # 1 GiB: far above what any input here should need


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def run_bounded(argv: Sequence[str], *, stdin: bytes | None = None, cwd: Path | None = None,
                timeout: float = DEFAULT_TIMEOUT,
                address_space: int = DEFAULT_ADDRESS_SPACE) -> Outcome:
    """``oomguard ARGV`` in a child process; raises ``subprocess.TimeoutExpired`` on a hang."""

    def limit() -> None:  # in the child, before it starts Python
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    done = subprocess.run([sys.executable, "-m", "oomguard", *argv], input=stdin,
                          capture_output=True, timeout=timeout, cwd=cwd, preexec_fn=limit,
                          check=False)
    return Outcome(done.returncode, done.stdout.decode("utf-8", "replace"),
                   done.stderr.decode("utf-8", "replace"))
