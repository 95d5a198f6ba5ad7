"""Every rule ships a bad and a good example: the bad one fires the rule, the good one not."""

from __future__ import annotations

import pytest

from oomguard.policies.config import build_policy
from oomguard.policies.engine import Engine
from oomguard.policies.registry import catalog
from tests.helpers import lint_text

RULES = list(catalog())


def _findings_for(rule, example: str) -> set[str]:  # type: ignore[no-untyped-def]
    doc = rule.doc
    policy = {**doc.example_policy}
    if not rule.enabled:
        rules = dict(policy.get("rules", {}))
        rules.setdefault(rule.code, {}).setdefault("enabled", True)
        policy["rules"] = rules
    if doc.example_input == "manifest":
        findings, _ = lint_text(example, policy)
        return {f.rule for f in findings}
    from oomguard.policies import node

    outcome = node.subjects_from_text(example, "example", doc.example_input)
    assert outcome is not None, f"{rule.code}: example not read as {doc.example_input}"
    subjects, _problems = outcome
    engine = Engine(build_policy(policy))
    result = engine.evaluate_node_subjects(subjects, engine.context(), "example", None)
    return {f.rule for f in result.findings}


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_bad_example_fires(rule) -> None:  # type: ignore[no-untyped-def]
    assert rule.code in _findings_for(rule, rule.doc.bad)


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_good_example_is_clean(rule) -> None:  # type: ignore[no-untyped-def]
    assert rule.code not in _findings_for(rule, rule.doc.good)


def test_every_catalog_code_exists() -> None:
    """RULES.md's codes and names, exactly (the binding catalog)."""
    import re
    from pathlib import Path

    spec = Path(__file__).resolve().parents[2] / "shared" / "spec" / "RULES.md"
    if not spec.is_file():
        pytest.skip("../shared/spec/RULES.md not beside the checkout")
    rows = re.findall(r"^\| (OOM\d{3}) \| ([a-z0-9-]+) \| (error|warning|info)",
                      spec.read_text(), re.M)
    assert rows
    by_code = {r.code: r for r in catalog()}
    for code, name, severity in rows:
        assert code in by_code, f"{code} missing"
        assert by_code[code].name == name
        assert str(by_code[code].severity) == severity


def test_each_rule_module_is_named_after_its_code_and_name() -> None:
    """``policies/rules/oomNNN_<name>.py``: a module found by its file name (discovery, not
    registration) says which rule it holds; a module there without CODE is no rule."""
    import pkgutil

    from oomguard.policies import rules as package

    modules = sorted(i.name for i in pkgutil.iter_modules(package.__path__)
                     if not i.name.startswith("_"))
    expected = sorted(f"{r.code.lower()}_{r.name.replace('-', '_')}" for r in RULES)
    assert modules == expected
    assert [r.module.rpartition(".")[2] for r in RULES] == sorted(expected)


def test_the_catalog_refuses_two_rules_claiming_one_code_or_name() -> None:
    import dataclasses

    from oomguard.policies.registry import Catalog

    first, second = RULES[0], RULES[1]
    with pytest.raises(RuntimeError, match=first.code):
        Catalog([first, dataclasses.replace(second, code=first.code.lower())])
    with pytest.raises(RuntimeError, match=first.name):
        Catalog([first, dataclasses.replace(second, name=first.name)])
