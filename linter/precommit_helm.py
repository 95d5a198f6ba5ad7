"""pre-commit entry for Helm charts: changed files in, the charts they belong to linted.

pre-commit passes the changed files (Chart.yaml, values files, templates); each is mapped to
the chart directory above it (the nearest Chart.yaml) and every chart is linted once.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from linter.cli import main as cli_main


def chart_of(path: str) -> str | None:
    directory = os.path.dirname(os.path.abspath(path))
    while True:
        if os.path.isfile(os.path.join(directory, "Chart.yaml")):
            return os.path.relpath(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    options = [a for a in args if a.startswith("-")]
    files = [a for a in args if not a.startswith("-")]
    charts = sorted({c for c in (chart_of(f) for f in files) if c is not None})
    if not charts:
        return 0
    helm_args = [arg for chart in charts for arg in ("--helm", chart)]
    return cli_main(["lint", *options, *helm_args])


if __name__ == "__main__":
    sys.exit(main())
