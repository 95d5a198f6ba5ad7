"""Helpers shared by the node rules (not a rule: the leading underscore hides it)."""

from __future__ import annotations

from decimal import Decimal

from oomguard.policies.node.kubelet import MEMORY, Threshold
from oomguard.policies.quantity import format_bytes

KUBELET_CONFIG_HEADER = """\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
"""


def human(value: Decimal | None) -> str:
    return "?" if value is None else format_bytes(value)


def threshold_bytes(threshold: Threshold | None, capacity: Decimal | None) -> Decimal | None:
    if threshold is None or threshold.ignored or threshold.error:
        return None
    return threshold.bytes_for(capacity)


__all__ = ["KUBELET_CONFIG_HEADER", "MEMORY", "human", "threshold_bytes"]
