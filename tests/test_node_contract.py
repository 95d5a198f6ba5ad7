"""Every node rule (OOM2xx): its documented bad example fires with a file position, its good
example does not, and it is declared the way policies/rule.py Rule says."""

from __future__ import annotations

import pytest

from oomguard.policies import node
from oomguard.policies.config import build_policy
from oomguard.policies.engine import Engine
from oomguard.policies.registry import catalog
from oomguard.policies.rule import Finding, Rule, Scope

NODE_RULES = [r for r in catalog() if r.scope in (Scope.KUBELET, Scope.SYSCTL)]


def run_example(rule: Rule, text: str) -> list[Finding]:
    outcome = node.subjects_from_text(text, "example", rule.doc.example_input)
    assert outcome is not None, f"{rule.code}: example not read as {rule.doc.example_input}"
    subjects, problems = outcome
    assert not problems, f"{rule.code}: example has input problems {problems}"
    engine = Engine(build_policy(dict(rule.doc.example_policy)))
    return engine.evaluate_node_subjects(subjects, engine.context(), "example", None).findings


def test_every_node_code_is_there() -> None:
    codes = {r.code for r in NODE_RULES}
    assert codes == {f"OOM2{n:02d}" for n in range(1, 13)} | {"OOM220", "OOM221"}


@pytest.mark.parametrize("rule", NODE_RULES, ids=[r.code for r in NODE_RULES])
def test_bad_example_fires_at_a_line(rule: Rule) -> None:
    assert rule.doc.example_input in ("kubelet-config", "kubelet-flags", "sysctl")
    assert rule.module.startswith("oomguard.policies.rules.oom2")
    fired = [f for f in run_example(rule, rule.doc.bad) if f.rule == rule.code]
    assert fired and all(f.line is not None and f.line >= 1 for f in fired)


@pytest.mark.parametrize("rule", NODE_RULES, ids=[r.code for r in NODE_RULES])
def test_good_example_is_clean(rule: Rule) -> None:
    assert rule.code not in {f.rule for f in run_example(rule, rule.doc.good)}


@pytest.mark.parametrize("rule", NODE_RULES, ids=[r.code for r in NODE_RULES])
def test_params_have_defaults(rule: Rule) -> None:
    assert set(rule.params_schema) == set(rule.defaults)
