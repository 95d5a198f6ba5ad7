"""OOM201 kubelet-eviction-memory-missing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.node.subjects import KubeletSubject
from policies.rule import Context, RuleDoc, Scope, Violation
from policies.rules._node import KUBELET_CONFIG_HEADER, MEMORY

CODE = "OOM201"
NAME = "kubelet-eviction-memory-missing"
SEVERITY = "error"
SCOPE = Scope.KUBELET
ENABLED = True
PARAMS: dict[str, Any] = {}
DEFAULTS: dict[str, Any] = {}

DOC = RuleDoc(
    what="Flags an `evictionHard` that leaves out `memory.available` (without "
         "`mergeDefaultEvictionSettings: true`) or sets it to `0%` or `100%`, which the "
         "kubelet ignores.",
    why="Without a hard memory threshold the kubelet never evicts for memory: the node "
        "runs out and the kernel OOM killer acts first, killing processes by score — "
        "possibly the kubelet's neighbours or system daemons — instead of the kubelet "
        "evicting pods in QoS order.",
    bad=KUBELET_CONFIG_HEADER + """\
evictionHard:
  nodefs.available: "10%"
""",
    good=KUBELET_CONFIG_HEADER + """\
evictionHard:
  memory.available: "500Mi"
  nodefs.available: "10%"
  nodefs.inodesFree: "5%"
  imagefs.available: "15%"
  imagefs.inodesFree: "5%"
""",
    example_input="kubelet-config",
)


def check(node: KubeletSubject, params: Mapping[str, Any], context: Context
          ) -> Iterator[Violation]:
    settings = node.settings
    if settings.eviction_hard is None:
        return  # the defaults apply, memory.available 100Mi included
    threshold = settings.hard_thresholds().get(MEMORY)
    if threshold is None:
        yield Violation("hard memory.available missing: memory eviction is disabled; the "
                        "kernel OOM killer will act first", ("evictionHard",))
    elif threshold.ignored:
        yield Violation(f"hard memory.available is {threshold.text}, which the kubelet "
                        "ignores: memory eviction is disabled; the kernel OOM killer will "
                        "act first", ("evictionHard", MEMORY))
