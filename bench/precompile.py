"""Byte-compile the checkout before a benchmark measures whole processes.

An installed package has its bytecode compiled at install time; a checkout runs from source,
and with PYTHONDONTWRITEBYTECODE set every start would recompile every module (~85 ms).
"""

from __future__ import annotations

import compileall
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def compile_sources() -> None:
    for package in ("oomguard", "policies", "linter"):
        compileall.compile_dir(str(ROOT / package), quiet=1)
