"""pre-commit entry for Helm charts: changed files in, the charts they belong to linted.

pre-commit passes the hook's ``args`` (any ``oomguard lint`` option: ``-f values.yaml``,
``--fail-on warning``, ...) followed by the changed files (Chart.yaml, values files,
templates). Each file is mapped to the chart it belongs to (the nearest Chart.yaml above
it; a subchart under ``charts/`` belongs to its parent, which renders it), and every chart
is linted once with ``--helm``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from oomguard.cli import EXIT_ERROR, build_parser
from oomguard.cli import main as cli_main


def _is_chart(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "Chart.yaml"))


def chart_of(path: str) -> str | None:
    """The top-level chart directory that ``path`` belongs to (relative), or None."""
    directory = os.path.abspath(path)
    if not os.path.isdir(directory):
        directory = os.path.dirname(directory)
    while not _is_chart(directory):
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
    while True:  # CHART/charts/SUB: the parent chart renders the subchart with its values
        holder = os.path.dirname(directory)
        if os.path.basename(holder) != "charts" or not _is_chart(os.path.dirname(holder)):
            break
        directory = os.path.dirname(holder)
    return os.path.relpath(directory)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:  # the lint parser tells option values (`-f values.yaml`) from the changed files
        parsed = parser.parse_args(["lint", *args])
    except SystemExit as exc:
        return int(exc.code or 0) and EXIT_ERROR
    files: list[str] = parsed.paths
    options = args[:len(args) - len(files)] if files and args[-len(files):] == files else \
        [a for a in args if a not in files]
    charts = sorted({c for c in (chart_of(f) for f in files) if c is not None})
    if not charts:
        return 0
    return cli_main(["lint", *options, *(arg for chart in charts for arg in ("--helm", chart))])


if __name__ == "__main__":
    sys.exit(main())
