"""OOM203 kubelet-eviction-memory-low."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from oomguard.policies.node.rulekit import KUBELET_CONFIG_HEADER
from oomguard.policies.node.subjects import KubeletSubject
from oomguard.policies.node.thresholds import MEMORY
from oomguard.policies.quantity import human
from oomguard.policies.rule import Context, RuleDoc, Scope, Violation
from oomguard.policies.rules._common import MinBytes

CODE = "OOM203"
NAME = "kubelet-eviction-memory-low"
SEVERITY = "warning"
SCOPE = Scope.KUBELET
PARAMS: dict[str, Any] = {"min": {"type": ["string", "integer"], "format": "quantity"}}
DEFAULTS: dict[str, Any] = {"min": "100Mi"}
Params = MinBytes


DOC = RuleDoc(
    what="Flags a hard `memory.available` threshold below `min` (default 100Mi). A "
         "percentage is resolved with `node.memory`; without it, it is not judged.",
    why="The kubelet notices memory pressure only every housekeeping interval; a tiny "
        "threshold is crossed and exhausted between two checks, so the kernel OOM killer "
        "still acts first.",
    bad=KUBELET_CONFIG_HEADER + """\
mergeDefaultEvictionSettings: true
evictionHard:
  memory.available: "20Mi"
""",
    good=KUBELET_CONFIG_HEADER + """\
mergeDefaultEvictionSettings: true
evictionHard:
  memory.available: "500Mi"
""",
    example_input="kubelet-config",
)


def check(node: KubeletSubject, params: MinBytes, context: Context
          ) -> Iterator[Violation]:
    minimum = params.min
    threshold = node.settings.hard_memory()
    if threshold is None or not threshold.usable:
        return  # unknown, absent or disabled: OOM201; invalid: OOM206
    value = threshold.bytes_for(context.node_memory)
    if value is None or value >= minimum:
        return  # a percentage needs node.memory to be judged
    shown = threshold.text if threshold.quantity is not None else \
        f"{threshold.text} of {human(context.node_memory)} = {human(value)}"
    origin = "" if node.settings.written("evictionHard") else " (the kubelet default)"
    yield Violation(f"hard memory.available {shown}{origin} is below {human(minimum)}: the "
                    f"kubelet starts evicting with only {human(value)} left, too late to beat "
                    "the kernel OOM killer", ("evictionHard", MEMORY))
