"""OOM205 kubelet-eviction-soft-not-above-hard."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.node.subjects import KubeletSubject
from policies.rule import Context, RuleDoc, Scope, Violation
from policies.rules._node import KUBELET_CONFIG_HEADER, MEMORY

CODE = "OOM205"
NAME = "kubelet-eviction-soft-not-above-hard"
SEVERITY = "warning"
SCOPE = Scope.KUBELET
ENABLED = True
PARAMS: dict[str, Any] = {}
DEFAULTS: dict[str, Any] = {}

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


def check(node: KubeletSubject, params: Mapping[str, Any], context: Context
          ) -> Iterator[Violation]:
    soft = node.settings.soft_thresholds().get(MEMORY)
    hard = node.settings.hard_thresholds().get(MEMORY)
    if soft is None or hard is None or soft.error or hard.error or soft.ignored or hard.ignored:
        return
    if soft.percentage is not None and hard.percentage is not None:
        soft_value, hard_value = soft.percentage, hard.percentage
    else:
        soft_b, hard_b = soft.bytes_for(context.node_memory), hard.bytes_for(context.node_memory)
        if soft_b is None or hard_b is None:
            return
        soft_value, hard_value = soft_b, hard_b
    if soft_value <= hard_value:
        yield Violation(f"soft memory.available {soft.text} is not above hard {hard.text}: the "
                        "soft threshold never fires first", ("evictionSoft", MEMORY))
