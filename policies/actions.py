"""Enforcement actions: what admission does with a finding (deny, warn or audit).

The model (docs/webhook.md "Enforcement actions"):

- The *stage* says how hard admission acts in a namespace: the namespace's label
  ``oomguard.io/action`` when it has one, else the policy's ``webhook.action`` (default
  ``deny``). It is the rollout step a team is at: audit, then warn, then deny.
- A rule's ``action`` (``rules: {OOM104: {action: warn}}``) is the most that rule may ever
  do, in every namespace: a rule the platform team knows to be noisy never blocks.
- The looser of the two wins. So a namespace in ``audit`` is never denied nor warned (a
  safe preview whatever the rules say), and a namespace that opts in to ``deny`` still only
  warns on a rule capped at ``warn``. Gatekeeper users know the stage as a constraint's
  ``enforcementAction``; Kyverno users know the per-namespace override as
  ``validationFailureActionOverrides``; the per-rule cap keeps a team's opt-in from turning
  on what the platform team held back.

What a finding gets, by severity: an error follows its action; a warning is a warning
(under ``audit``: recorded only, admission returns no warnings then); an info is only ever
recorded (audit annotations).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from oomguard.policies.rule import Finding, Severity

if TYPE_CHECKING:
    from oomguard.policies.config import Policy

DENY, WARN, AUDIT = "deny", "warn", "audit"
ACTIONS = (DENY, WARN, AUDIT)  # strictest first
NAMESPACE_LABEL = "oomguard.io/action"
_STRICTNESS = {DENY: 2, WARN: 1, AUDIT: 0}


def looser(first: str, second: str) -> str:
    """The looser of two actions."""
    return first if _STRICTNESS[first] <= _STRICTNESS[second] else second


def rule_action(policy: Policy, code: str, stage: str | None = None) -> str:
    """What an error finding of rule ``code`` gets at ``stage`` (the namespace's label;
    None: the policy's ``webhook.action``)."""
    stage = stage or policy_action(policy)
    return looser(policy.action_caps.get(code, DENY), stage)


def policy_action(policy: Policy) -> str:
    return str(policy.webhook.get("action", DENY))


def severity_action(severity: Severity, action: str) -> str:
    """What admission does with a finding of ``severity`` whose rule acts at ``action``."""
    if severity is Severity.ERROR:
        return action
    if severity is Severity.WARNING:
        return AUDIT if action == AUDIT else WARN
    return AUDIT


class ActionResolver:
    """The action of each finding for one policy, as the webhook would take it: at
    ``stage`` (a preview: ``oomguard lint --action warn``) or else, per finding, at the
    stage of its object's namespace in ``namespace_stages`` (namespace -> label value, as
    an audit of a live cluster knows them), else at the policy's ``webhook.action``."""

    def __init__(self, policy: Policy, stage: str | None = None,
                 namespace_stages: Mapping[str, str] | None = None) -> None:
        self.policy = policy
        self.stage = stage
        self.namespace_stages = namespace_stages or {}
        self._cache: dict[tuple[str, str | None], str] = {}

    def stage_of(self, namespace: str | None) -> str | None:
        if self.stage is not None:
            return self.stage
        label = self.namespace_stages.get(namespace or "")
        return label if label in ACTIONS else None  # a bad label: the policy's default

    def __call__(self, finding: Finding) -> str:
        namespace = finding.object.namespace if finding.object else None
        key = (finding.rule, namespace)
        action = self._cache.get(key)
        if action is None:
            action = self._cache[key] = rule_action(self.policy, finding.rule,
                                                    self.stage_of(namespace))
        return severity_action(finding.severity, action)
