"""Small helpers shared by workload rules (not a rule: the leading underscore hides it)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from oomguard.policies.workload.model import Quantity


@lru_cache(maxsize=256)
def decimal_param(value: float | int | str) -> Decimal:
    """A numeric rule parameter as an exact Decimal (read on every check, parsed once)."""
    return Decimal(str(value))


def where(quantity: Quantity) -> str:
    return "" if quantity.source == "manifest" else f" (from {quantity.source})"
