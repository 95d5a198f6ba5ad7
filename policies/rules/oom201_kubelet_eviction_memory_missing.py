"""OOM201 kubelet-eviction-memory-missing."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.node.rulekit import KUBELET_CONFIG_HEADER
from oomguard.policies.node.subjects import KubeletSubject
from oomguard.policies.node.thresholds import MEMORY
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation

CODE = "OOM201"
NAME = "kubelet-eviction-memory-missing"
SEVERITY = "error"
SCOPE = Scope.KUBELET

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


def check(node: KubeletSubject, params: NoParams, context: Context
          ) -> Iterator[Violation]:
    settings = node.settings
    known, raw = settings.map_value("evictionHard", MEMORY)
    if not known:
        return  # another input (config file, base configuration) decides
    if raw is None:
        if "evictionHard" in settings.from_flags:
            how = "--eviction-hard replaces the kubelet's defaults (memory.available<100Mi)"
        else:
            how = ("a partial evictionHard replaces the kubelet's defaults "
                   "(memory.available: 100Mi) unless mergeDefaultEvictionSettings is true")
        yield Violation("hard memory.available missing: eviction disabled; the kernel OOM "
                        f"killer will act first ({how})", ("evictionHard",))
        return
    threshold = settings.hard_memory()
    if threshold is not None and threshold.disabled:
        why = "which the kubelet drops" if threshold.ignored else "which is never crossed"
        yield Violation(f"hard memory.available is {threshold.text}, {why}: eviction "
                        "disabled; the kernel OOM killer will act first",
                        ("evictionHard", MEMORY))
