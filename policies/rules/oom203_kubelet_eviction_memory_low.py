"""OOM203 kubelet-eviction-memory-low."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.node.subjects import KubeletSubject
from policies.quantity import parse_quantity
from policies.rule import Context, RuleDoc, Scope, Violation
from policies.rules._node import KUBELET_CONFIG_HEADER, MEMORY, human, threshold_bytes

CODE = "OOM203"
NAME = "kubelet-eviction-memory-low"
SEVERITY = "warning"
SCOPE = Scope.KUBELET
ENABLED = True
PARAMS: dict[str, Any] = {"min": {"type": ["string", "integer"], "format": "quantity"}}
DEFAULTS: dict[str, Any] = {"min": "100Mi"}

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


def check(node: KubeletSubject, params: Mapping[str, Any], context: Context
          ) -> Iterator[Violation]:
    minimum = parse_quantity(params["min"])
    threshold = node.settings.hard_thresholds().get(MEMORY)
    value = threshold_bytes(threshold, context.node_memory)
    if threshold is not None and value is not None and value < minimum:
        yield Violation(f"hard memory.available {threshold.text} ({human(value)}) is below "
                        f"{human(minimum)}: eviction starts too late to beat the OOM killer",
                        ("evictionHard", MEMORY))
