"""The lint path must not pay for the webhook's imports (flask, gunicorn, kubernetes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECK = """
import sys
from oomguard.cli import main
code = main(["lint", sys.argv[1]])
heavy = sorted(m for m in ("flask", "gunicorn", "kubernetes", "jsonschema") if m in sys.modules)
print("HEAVY", ",".join(heavy))
"""


def test_lint_imports_nothing_heavy(tmp_path: Path) -> None:
    manifest = tmp_path / "p.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
                        "  containers: [{name: a}]\n")
    out = subprocess.run([sys.executable, "-c", CHECK, str(manifest)], capture_output=True,
                         text=True, cwd=tmp_path, check=False).stdout
    assert "HEAVY \n" in out, out
