"""OOM210 kubelet-reserved-memory-mismatch."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from oomguard.policies.node.rulekit import KUBELET_CONFIG_HEADER
from oomguard.policies.node.subjects import KubeletSubject
from oomguard.policies.quantity import QuantityError, human, parse_quantity, quantity_text
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation

CODE = "OOM210"
NAME = "kubelet-reserved-memory-mismatch"
SEVERITY = "error"
SCOPE = Scope.KUBELET

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


_REFUSES = "the kubelet refuses to start"


def _reserved_total(entries: list[Any]) -> tuple[Decimal, list[Violation]]:
    """The memory of every NUMA node summed, and the entries the kubelet rejects
    (validation_reserved_memory.go: zero limits, a NUMA node and type given twice)."""
    total = Decimal(0)
    problems: list[Violation] = []
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(entries):
        where = ("reservedMemory", index)
        if not isinstance(entry, dict):
            problems.append(Violation(f"reservedMemory[{index}] must be a map with numaNode "
                                      f"and limits: {_REFUSES}", where))
            continue
        limits = entry.get("limits")
        if not isinstance(limits, dict):
            if limits is not None:
                problems.append(Violation(f"reservedMemory[{index}].limits must be a map of "
                                          f"memory type to quantity: {_REFUSES}", where))
            continue
        for kind, raw in limits.items():
            place = (*where, "limits", str(kind))
            key = (str(entry.get("numaNode")), str(kind))
            if key in seen:
                problems.append(Violation(f"reservedMemory gives {kind} of NUMA node "
                                          f"{key[0]} twice: {_REFUSES}", place))
            seen.add(key)
            text = quantity_text(raw)
            try:
                amount = parse_quantity(text if text is not None else raw)
            except QuantityError as exc:
                problems.append(Violation(f"reservedMemory {kind} {raw!r} of NUMA node "
                                          f"{key[0]} is not a quantity ({exc}): {_REFUSES}",
                                          place))
                continue
            if amount == 0:
                problems.append(Violation(f"reservedMemory {kind} of NUMA node {key[0]} is "
                                          f"zero, which is not allowed: {_REFUSES}", place))
            if kind == "memory":
                total += amount
    return total, problems


def check(node: KubeletSubject, params: NoParams, context: Context
          ) -> Iterator[Violation]:
    settings = node.settings
    if settings.memory_manager_policy() != "Static":
        return
    for problem in settings.flag_problems:
        if problem.field == "reservedMemory":
            yield Violation(problem.message, ("reservedMemory",), line=problem.line,
                            column=problem.column)
    if settings.written("reservedMemory") and settings.reserved_memory() is None:
        yield Violation(f"reservedMemory must be a list: {_REFUSES}", ("reservedMemory",))
        return
    entries = settings.reserved_memory()
    if entries is None:
        return  # set by another input
    total, problems = _reserved_total(entries)
    yield from problems
    kube = settings.reserved_bytes("kubeReserved")
    system = settings.reserved_bytes("systemReserved")
    eviction = settings.hard_memory_bytes(context.node_memory)
    if problems or kube is None or system is None or eviction is None:
        return  # unknown, invalid (OOM206/OOM207), or a percentage without node.memory
    expected = kube + system + eviction
    if total == expected:
        return
    hard = settings.hard_memory()
    shown = human(eviction) if hard is None or hard.quantity is not None or not hard.usable \
        else f"{hard.text} of {human(context.node_memory)} = {human(eviction)}"
    path = ("reservedMemory",) if settings.written("reservedMemory") else \
        ("memoryManagerPolicy",)
    yield Violation(f"reservedMemory {human(total)} != kubeReserved {human(kube)} + "
                    f"systemReserved {human(system)} + hard eviction {shown} = "
                    f"{human(expected)}: with memoryManagerPolicy Static {_REFUSES}", path)
