"""OOM207 kubelet-reserved-memory-missing."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from oomguard.policies.node.kubelet import RESERVABLE
from oomguard.policies.node.rulekit import KUBELET_CONFIG_HEADER
from oomguard.policies.node.subjects import KubeletSubject
from oomguard.policies.quantity import human
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation

CODE = "OOM207"
NAME = "kubelet-reserved-memory-missing"
SEVERITY = "warning"
SCOPE = Scope.KUBELET

DOC = RuleDoc(
    what="Flags a kubelet that reserves no memory in `systemReserved` or `kubeReserved`.",
    why="Allocatable memory is then the whole node minus the eviction threshold: the "
        "scheduler packs pods onto memory the kubelet, the container runtime and system "
        "daemons need, and under load the kernel OOM killer takes them or the pods.",
    bad=KUBELET_CONFIG_HEADER + """\
systemReserved:
  cpu: 500m
""",
    good=KUBELET_CONFIG_HEADER + """\
systemReserved:
  cpu: 500m
  memory: 1Gi
kubeReserved:
  memory: 1Gi
""",
    example_input="kubelet-config",
)


_FIELDS = ("systemReserved", "kubeReserved")


def _invalid(node: KubeletSubject) -> Iterator[Violation]:
    """Reservations the kubelet rejects at start-up (server.go parseResourceList)."""
    settings = node.settings
    for problem in settings.flag_problems:
        if problem.field in _FIELDS:
            yield Violation(problem.message, (problem.field,), line=problem.line,
                            column=problem.column)
    for name in _FIELDS:
        values = settings.written_map(name)
        if settings.written(name) and values is None:
            yield Violation(f"{name} must be a map of resource to quantity: the kubelet "
                            "cannot decode the configuration", (name,))
            continue
        for key in values or {}:
            if key not in RESERVABLE:
                yield Violation(f"{name} has {key!r}, which the kubelet cannot reserve (only "
                                f"{', '.join(RESERVABLE)}): the kubelet refuses to start",
                                (name, key))
        reserved = settings.reserved(name)
        if reserved is not None and reserved.error:
            yield Violation(f"{reserved.error}: the kubelet refuses to start", (name, "memory"))


def check(node: KubeletSubject, params: NoParams, context: Context
          ) -> Iterator[Violation]:
    invalid = list(_invalid(node))
    yield from invalid
    settings = node.settings
    system, kube = settings.reserved("systemReserved"), settings.reserved("kubeReserved")
    if invalid or system is None or kube is None:
        return  # rejected anyway, or another input may reserve memory
    if (system.amount or 0) > 0 or (kube.amount or 0) > 0:
        return
    path = ("systemReserved",) if settings.written("systemReserved") else (
        ("kubeReserved",) if settings.written("kubeReserved") else ())
    eviction = settings.hard_memory_bytes(context.node_memory)
    if context.node_memory is not None and eviction is not None:
        allocatable = max(context.node_memory - eviction, Decimal(0))
        left = (f"allocatable memory is {human(allocatable)} of {human(context.node_memory)}"
                f" (only the hard eviction threshold {human(eviction)} is held back)")
    else:
        left = "allocatable memory is the node's memory minus only the hard eviction threshold"
    yield Violation(f"neither systemReserved nor kubeReserved reserves memory: {left}; pods "
                    "can be scheduled onto the memory the kubelet, the container runtime and "
                    "system daemons need", path)
