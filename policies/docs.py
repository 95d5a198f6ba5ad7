"""Rule documentation in Markdown (``oomguard explain`` and ``docs/rules.md``)."""

from __future__ import annotations

import json

from oomguard.policies.registry import catalog
from oomguard.policies.rule import Rule

_LANG = {"manifest": "yaml", "kubelet-config": "yaml", "kubelet-flags": "sh", "sysctl": "ini"}


def rule_markdown(rule: Rule, heading: str = "##") -> str:
    doc = rule.doc
    lang = _LANG.get(doc.example_input, "")
    state = "" if rule.enabled else ", off by default"
    parts = [
        f"{heading} {rule.code} {rule.name}\n",
        f"Default severity: **{rule.severity}**{state}. Scope: {rule.scope.value}.\n",
        f"**What it does.** {doc.what}\n",
        f"**Why is this bad?** {doc.why}\n",
    ]
    if rule.params_schema:
        params = ", ".join(f"`{name}` (default `{json.dumps(rule.defaults.get(name))}`)"
                           for name in rule.params_schema)
        parts.append(f"**Parameters.** {params}\n")
    if doc.example_policy:
        parts.append(f"**Policy used by the examples.** `{json.dumps(doc.example_policy)}`\n")
    parts.append(f"**Example**\n\n```{lang}\n{doc.bad.rstrip()}\n```\n")
    parts.append(f"**Use instead**\n\n```{lang}\n{doc.good.rstrip()}\n```\n")
    return "\n".join(parts)


def catalog_markdown() -> str:
    rules = list(catalog())
    lines = ["# oomguard rules", "",
             "Generated from the rule modules by "
             "`python -m oomguard.policies.docs > docs/rules.md`; "
             "a test fails when this file is stale.", "",
             "| code | name | default severity | scope |", "|---|---|---|---|"]
    for rule in rules:
        off = " (off by default)" if not rule.enabled else ""
        anchor = f"{rule.code}-{rule.name}".lower()
        lines.append(f"| [{rule.code}](#{anchor}) | {rule.name} | {rule.severity}{off} | "
                     f"{rule.scope.value} |")
    lines.append("")
    for rule in rules:
        lines.append(rule_markdown(rule))
    return "\n".join(lines)


if __name__ == "__main__":
    print(catalog_markdown(), end="")
