"""Helpers shared by the node rule modules (policies/rules/oom2*.py)."""

from __future__ import annotations

from decimal import Decimal

from oomguard.policies.quantity import format_bytes

KUBELET_CONFIG_HEADER = """\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
"""


def human(value: Decimal | int | None) -> str:
    """Bytes as Kubernetes-style text: exact binary units when they divide."""
    if value is None:
        return "?"
    amount = Decimal(value)
    if amount != amount.to_integral_value():
        amount = amount.to_integral_value()
    return format_bytes(amount)


def listing(items: list[str]) -> str:
    return ", ".join(items)
