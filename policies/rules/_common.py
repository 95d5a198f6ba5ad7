"""Small helpers shared by workload rules (not a rule: the leading underscore hides it)."""

from __future__ import annotations

from oomguard.policies.workload.model import Quantity


def where(quantity: Quantity) -> str:
    return "" if quantity.source == "manifest" else f" (from {quantity.source})"
