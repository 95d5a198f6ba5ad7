"""OOM210 kubelet-reserved-memory-mismatch."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from policies.node.subjects import KubeletSubject
from policies.quantity import QuantityError, parse_quantity
from policies.rule import Context, RuleDoc, Scope, Violation
from policies.rules._node import KUBELET_CONFIG_HEADER, human

CODE = "OOM210"
NAME = "kubelet-reserved-memory-mismatch"
SEVERITY = "error"
SCOPE = Scope.KUBELET
ENABLED = True
PARAMS: dict[str, Any] = {}
DEFAULTS: dict[str, Any] = {}

DOC = RuleDoc(
    what="With `memoryManagerPolicy: Static`, checks that the `memory` of all "
         "`reservedMemory` entries adds up to kubeReserved + systemReserved + the hard "
         "`memory.available` threshold.",
    why="The memory manager validates exactly this sum "
        "(pkg/kubelet/cm/memorymanager/policy_static.go) and the kubelet refuses to start "
        "when it differs.",
    bad=KUBELET_CONFIG_HEADER + """\
memoryManagerPolicy: Static
kubeReserved: {memory: 1Gi}
systemReserved: {memory: 1Gi}
reservedMemory:
- numaNode: 0
  limits: {memory: 1Gi}
""",
    good=KUBELET_CONFIG_HEADER + """\
memoryManagerPolicy: Static
kubeReserved: {memory: 1Gi}
systemReserved: {memory: 1Gi}
reservedMemory:
- numaNode: 0
  limits: {memory: 2148Mi}
""",
    example_input="kubelet-config",
)


def check(node: KubeletSubject, params: Mapping[str, Any], context: Context
          ) -> Iterator[Violation]:
    settings = node.settings
    if settings.memory_manager_policy != "Static":
        return
    total = Decimal(0)
    for entry in settings.reserved_memory:
        limits = entry.get("limits")
        raw = limits.get("memory") if isinstance(limits, dict) else None
        if raw is None:
            continue
        try:
            total += parse_quantity(raw)
        except QuantityError:
            return  # reported elsewhere; no sum to compare
    kube = settings.reserved_memory_bytes("kube")
    system = settings.reserved_memory_bytes("system")
    eviction = settings.hard_memory_bytes(context.node_memory)
    if kube is None or system is None or eviction is None:
        return  # a percentage threshold without node.memory: cannot be summed
    expected = kube + system + eviction
    if total != expected:
        yield Violation(f"reservedMemory {human(total)} != kubeReserved {human(kube)} + "
                        f"systemReserved {human(system)} + hard eviction {human(eviction)} = "
                        f"{human(expected)}: the kubelet refuses to start",
                        ("reservedMemory",))
