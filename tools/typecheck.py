"""Type-check the code under the names it is imported by: ``oomguard.policies`` & co.

The folders ``policies/``, ``linter/`` and ``webhook/`` are installed as subpackages of
``oomguard`` (pyproject.toml ``package-dir``), a mapping mypy cannot read: run on the folders,
it would resolve every ``oomguard.policies...`` import to nothing. So this script builds a
tree of links that has the installed layout (``oomguard/`` with ``policies``, ``linter``
and ``webhook`` beside its own modules) and runs mypy there, then ``mypy --strict`` on
``oomguard.policies``. Paths in mypy's messages are given back as the repository's.

    python tools/typecheck.py      # exit 0 when both runs are clean

.ci/run runs it after the tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPPED = ("policies", "linter", "webhook")  # folder -> oomguard.<folder>
RUNS = (
    ("mypy", ["-p", "oomguard"]),
    ("mypy --strict (policies)", ["--strict", "-p", "oomguard.policies"]),
)


def link_tree(target: Path) -> Path:
    """``target/oomguard``: links to the package's own files and to the mapped folders."""
    package = target / "oomguard"
    package.mkdir()
    for entry in (ROOT / "oomguard").iterdir():
        if entry.name != "__pycache__" and entry.name not in MAPPED:
            (package / entry.name).symlink_to(entry)
    for folder in MAPPED:
        (package / folder).symlink_to(ROOT / folder, target_is_directory=True)
    return package


def _repository_paths(text: str) -> str:
    for folder in MAPPED:
        text = text.replace(f"oomguard{os.sep}{folder}{os.sep}", f"{folder}{os.sep}")
    return text


def main() -> int:
    worst = 0
    with tempfile.TemporaryDirectory(prefix="oomguard-typecheck-") as tmp:
        link_tree(Path(tmp))
        for title, args in RUNS:
            done = subprocess.run(
                [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                 "--cache-dir", str(ROOT / ".mypy_cache"), *args],
                cwd=tmp, capture_output=True, text=True, check=False)
            print(f"== {title}")
            sys.stdout.write(_repository_paths(done.stdout + done.stderr))
            worst = max(worst, done.returncode)
    return worst


if __name__ == "__main__":
    sys.exit(main())
