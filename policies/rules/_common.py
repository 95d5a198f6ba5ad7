"""Small helpers shared by rule modules (not a rule: the leading underscore hides it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from oomguard.policies.quantity import parse_quantity
from oomguard.policies.workload.model import Quantity


@dataclass(frozen=True)
class MinBytes:
    """The parameters of a rule whose one parameter, ``min``, is a quantity of bytes
    (OOM107, OOM203)."""

    min: Decimal

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> MinBytes:
        return cls(min=parse_quantity(values["min"]))


def where(quantity: Quantity) -> str:
    return "" if quantity.source == "manifest" else f" (from {quantity.source})"
