"""OOM208 kubelet-allocatable-not-enforced."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.node.rulekit import KUBELET_CONFIG_HEADER
from oomguard.policies.node.subjects import KubeletSubject
from oomguard.policies.quantity import human
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation

CODE = "OOM208"
NAME = "kubelet-allocatable-not-enforced"
SEVERITY = "error"
SCOPE = Scope.KUBELET

DOC = RuleDoc(
    what="Flags an `enforceNodeAllocatable` that does not contain `pods` (the default is "
         "`[pods]`).",
    why="Without it the kubepods cgroup has no memory limit: pods together can use the "
        "memory reserved for the system, and the reservations exist only on paper.",
    bad=KUBELET_CONFIG_HEADER + """\
enforceNodeAllocatable: ["none"]
""",
    good=KUBELET_CONFIG_HEADER + """\
enforceNodeAllocatable: ["pods"]
""",
    example_input="kubelet-config",
)


def check(node: KubeletSubject, params: NoParams, context: Context
          ) -> Iterator[Violation]:
    settings = node.settings
    enforced = settings.enforced()
    if enforced is None or "pods" in enforced:
        return  # unknown (or not a list: OOM209), or enforced
    kube = settings.reserved_bytes("kubeReserved")
    system = settings.reserved_bytes("systemReserved")
    eviction = settings.hard_memory_bytes(context.node_memory)
    held = ""
    if kube is not None and system is not None and eviction is not None:
        held = (f"; the {human(kube + system + eviction)} held back for the system and hard "
                "eviction is held back only on paper")
    shown = "[" + ", ".join(enforced) + "]"
    yield Violation(f"enforceNodeAllocatable is {shown} without pods: the kubepods cgroup gets "
                    f"no memory limit, so pods together can use all of the node's memory{held}",
                    ("enforceNodeAllocatable",))
