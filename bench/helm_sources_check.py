"""Show, for every finding on Helm charts, the template line and the values line it names,
so that a person can check them: ``python bench/helm_sources_check.py CHART...``.

Used on public charts (docs/ci.md lists them and the result); charts are rendered with
their default values, as ``oomguard lint --helm CHART`` does. Prints one block per finding
and a summary line: findings, on a template line, with a values key.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

from oomguard.cli import main as oomguard


def _line(path: str, number: int | None) -> str:
    if number is None:
        return ""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().split("\n")[number - 1].strip()
    except (OSError, IndexError):
        return "?"


def main(argv: list[str]) -> int:
    total = templated = valued = 0
    for chart in argv:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            oomguard(["lint", "--format", "json", "--helm", chart])
        report = json.loads(out.getvalue())
        for error in report["errors"]:
            print(f"{chart}: error {error['message']}")
        for f in report["findings"]:
            total += 1
            templated += f.get("position") == "template"
            values = f.get("values")
            valued += values is not None
            print(f"{f['rule']} {f['container'] or ''} {f['path']}")
            print(f"  {f.get('position')}: {f['file']}:{f['line']}:{f['column']}  "
                  f"| {_line(f['file'], f['line'])}")
            if values:
                print(f"  values: {values['file']}:{values['line']} {values['key']}  "
                      f"| {_line(values['file'], values['line'])}")
    print(f"{total} finding(s), {templated} on a template line, {valued} with a values key")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
