from __future__ import annotations

from pathlib import Path

from oomguard.policies.docs import catalog_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


def test_rules_md_is_current() -> None:
    assert DOCS.read_text(encoding="utf-8") == catalog_markdown(), (
        "docs/rules.md is stale: run `python -m oomguard.policies.docs > docs/rules.md`")


def test_every_rule_documents_what_why_and_examples() -> None:
    text = catalog_markdown()
    for heading in ("**What it does.**", "**Why is this bad?**", "**Example**", "**Use instead**"):
        assert heading in text
