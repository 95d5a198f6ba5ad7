"""OOM205 kubelet-eviction-soft-not-above-hard."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.node.rulekit import KUBELET_CONFIG_HEADER
from oomguard.policies.node.subjects import KubeletSubject
from oomguard.policies.node.thresholds import MEMORY
from oomguard.policies.quantity import human
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation

CODE = "OOM205"
NAME = "kubelet-eviction-soft-not-above-hard"
SEVERITY = "warning"
SCOPE = Scope.KUBELET

DOC = RuleDoc(
    what="Flags a soft `memory.available` threshold that is not above the hard one (compared "
         "directly when both are quantities or both percentages, else with `node.memory`).",
    why="Soft eviction exists to evict gracefully before the hard threshold kills pods "
        "without a grace period; a soft threshold at or below the hard one never fires "
        "first.",
    bad=KUBELET_CONFIG_HEADER + """\
evictionHard:
  memory.available: "500Mi"
  nodefs.available: "10%"
  nodefs.inodesFree: "5%"
  imagefs.available: "15%"
  imagefs.inodesFree: "5%"
evictionSoft:
  memory.available: "300Mi"
evictionSoftGracePeriod:
  memory.available: "1m"
""",
    good=KUBELET_CONFIG_HEADER + """\
evictionHard:
  memory.available: "500Mi"
  nodefs.available: "10%"
  nodefs.inodesFree: "5%"
  imagefs.available: "15%"
  imagefs.inodesFree: "5%"
evictionSoft:
  memory.available: "1Gi"
evictionSoftGracePeriod:
  memory.available: "1m"
""",
    example_input="kubelet-config",
)


def check(node: KubeletSubject, params: NoParams, context: Context
          ) -> Iterator[Violation]:
    soft = node.settings.soft_memory()
    hard = node.settings.hard_memory()
    if soft is None or hard is None or not soft.usable or not hard.usable:
        return
    if soft.percent is not None and hard.percent is not None:
        if soft.percent <= hard.percent:  # both of the same capacity
            yield Violation(f"soft memory.available {soft.text} is not above hard "
                            f"{hard.text}: the soft threshold never fires first, pods are "
                            "killed without their grace period", ("evictionSoft", MEMORY))
        return
    soft_bytes = soft.bytes_for(context.node_memory)
    hard_bytes = hard.bytes_for(context.node_memory)
    if soft_bytes is None or hard_bytes is None:
        return  # a percentage against a quantity needs node.memory
    if soft_bytes <= hard_bytes:
        sizes = "" if soft.quantity is not None and hard.quantity is not None else \
            f" ({human(soft_bytes)} <= {human(hard_bytes)} of {human(context.node_memory)})"
        yield Violation(f"soft memory.available {soft.text} is not above hard {hard.text}"
                        f"{sizes}: the soft threshold never fires first, pods are killed "
                        "without their grace period", ("evictionSoft", MEMORY))
