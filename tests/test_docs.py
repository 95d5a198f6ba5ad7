from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest

from oomguard.policies.docs import catalog_markdown, rule_markdown
from oomguard.policies.registry import catalog

DOCS = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
RULES = list(catalog())


def test_rules_md_is_current() -> None:
    assert DOCS.read_text(encoding="utf-8") == catalog_markdown(), (
        "docs/rules.md is stale: run `python -m oomguard.policies.docs > docs/rules.md`")


def _github_anchor(heading: str) -> str:
    """GitHub's heading slug: lower case, punctuation but '-' and '_' dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_index_link_lands_on_its_rule_heading() -> None:
    text = catalog_markdown()
    anchors = {_github_anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}
    links = re.findall(r"^\| \[(OOM\d{3})\]\(#([^)]+)\)", text, re.M)
    assert [code for code, _ in links] == [r.code for r in RULES]
    assert [target for _, target in links if target not in anchors] == []


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_documented_defaults_obey_the_rule_schema(rule) -> None:  # type: ignore[no-untyped-def]
    """What `oomguard explain` prints as each parameter's default is a valid setting."""
    assert set(rule.defaults) == set(rule.params_schema), rule.code
    for name, schema in rule.params_schema.items():
        jsonschema.validate(rule.defaults[name], schema)
        assert f"`{name}` (default `" in rule_markdown(rule)
