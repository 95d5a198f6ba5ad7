"""OOM212 kubelet-reserved-below-recommended."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from oomguard.policies.node.rulekit import KUBELET_CONFIG_HEADER
from oomguard.policies.node.subjects import KubeletSubject
from oomguard.policies.quantity import human
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation

CODE = "OOM212"
NAME = "kubelet-reserved-below-recommended"
SEVERITY = "warning"
SCOPE = Scope.KUBELET

GI = Decimal(1 << 30)
# (size of the tier in bytes, fraction reserved): the tiers GKE and AKS use
TIERS = ((4 * GI, Decimal("0.25")), (4 * GI, Decimal("0.20")), (8 * GI, Decimal("0.10")),
         (112 * GI, Decimal("0.06")), (None, Decimal("0.02")))

DOC = RuleDoc(
    what="With `node.memory` known, compares kubeReserved + systemReserved memory with the "
         "tiered recommendation: 25% of the first 4GiB, 20% of the next 4GiB, 10% of the next "
         "8GiB, 6% of the next 112GiB and 2% above 128GiB.",
    why="The kubelet, the container runtime and the OS need memory that grows with the node; "
        "reserving less lets pods take it, and the node itself runs out.",
    bad=KUBELET_CONFIG_HEADER + """\
kubeReserved: {memory: 256Mi}
""",
    good=KUBELET_CONFIG_HEADER + """\
kubeReserved: {memory: 2Gi}
systemReserved: {memory: 1Gi}
""",
    example_input="kubelet-config",
    example_policy={"node": {"memory": "16Gi"}},
)


def recommended(capacity: Decimal) -> Decimal:
    left = capacity
    total = Decimal(0)
    for size, fraction in TIERS:
        part = left if size is None else min(left, size)
        total += part * fraction
        left -= part
        if left <= 0:
            break
    return total


def check(node: KubeletSubject, params: NoParams, context: Context
          ) -> Iterator[Violation]:
    if context.node_memory is None:
        return  # off without node.memory
    settings = node.settings
    kube = settings.reserved_bytes("kubeReserved")
    system = settings.reserved_bytes("systemReserved")
    if kube is None or system is None:
        return  # set elsewhere, or invalid (OOM207)
    want = recommended(context.node_memory)
    if kube + system >= want:
        return
    if settings.written("kubeReserved"):
        path: tuple[str, ...] = ("kubeReserved", "memory")
    elif settings.written("systemReserved"):
        path = ("systemReserved", "memory")
    else:
        path = ()
    yield Violation(f"kubeReserved {human(kube)} + systemReserved {human(system)} = "
                    f"{human(kube + system)} is below the {human(want)} recommended for a "
                    f"{human(context.node_memory)} node (25% of the first 4GiB, 20% of the "
                    "next 4GiB, 10% of the next 8GiB, 6% of the next 112GiB, 2% above): the "
                    "kubelet, the runtime and the OS compete with pods for the rest",
                    path)
