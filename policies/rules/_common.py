"""Small helpers shared by workload rules (not a rule: the leading underscore hides it)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from policies.model import Container, PodModel, Quantity
from policies.quantity import format_bytes


def memory_quantities(pod: PodModel) -> list[tuple[Quantity, Container | None]]:
    """Every memory quantity written in the pod spec, with its container when it has one.
    (Made once per model: OOM105 and OOM106 both walk it.)"""
    if pod.quantities_cache is not None:
        return pod.quantities_cache
    found: list[tuple[Quantity, Container | None]] = []
    for container in pod.resource_containers:
        for resources in (container.declared_requests, container.declared_limits):
            quantity = resources.get("memory")
            if quantity is not None:
                found.append((quantity, container))
    for resources in (pod.pod_requests, pod.pod_limits, pod.overhead):
        quantity = resources.get("memory")
        if quantity is not None and quantity.source == "manifest":
            found.append((quantity, None))
    for volume in pod.volumes:
        if volume.size_limit is not None and volume.emptydir_medium == "Memory":
            found.append((volume.size_limit, None))
    pod.quantities_cache = found
    return found


@lru_cache(maxsize=256)
def decimal_param(value: float | int | str) -> Decimal:
    """A numeric rule parameter as an exact Decimal (read on every check, parsed once)."""
    return Decimal(str(value))


def human(value: Decimal | int | None) -> str:
    return "?" if value is None else format_bytes(value)


def where(quantity: Quantity) -> str:
    return "" if quantity.source == "manifest" else f" (from {quantity.source})"
