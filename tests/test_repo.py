"""Repository promises: CI runs README's test command (import rules: tests/test_layers.py)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_COMMAND = "pip install -e '.[test]' && python -m pytest -q"


def test_ci_runs_the_readme_test_command() -> None:
    assert TEST_COMMAND in (ROOT / "README.md").read_text(encoding="utf-8")
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_action_and_hook_definitions_parse() -> None:
    from oomguard.policies.source import iter_documents

    action = next(iter_documents((ROOT / "action.yml").read_text())).data
    assert action["runs"]["using"] == "composite"
    assert {"paths", "charts", "sarif-file", "upload-sarif", "fail-on"} <= set(action["inputs"])
    hooks = next(iter_documents((ROOT / ".pre-commit-hooks.yaml").read_text())).data
    assert [h["id"] for h in hooks] == ["oomguard", "oomguard-helm"]
