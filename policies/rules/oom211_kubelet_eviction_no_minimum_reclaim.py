"""OOM211 kubelet-eviction-no-minimum-reclaim."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.node.rulekit import KUBELET_CONFIG_HEADER
from oomguard.policies.node.subjects import KubeletSubject
from oomguard.policies.node.thresholds import MEMORY
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation

CODE = "OOM211"
NAME = "kubelet-eviction-no-minimum-reclaim"
SEVERITY = "info"
SCOPE = Scope.KUBELET

DOC = RuleDoc(
    what="Notes a kubelet without `evictionMinimumReclaim` for `memory.available`.",
    why="Without a minimum reclaim the kubelet evicts just enough to get back over the "
        "threshold, so the node hovers at it and evicts one pod after another.",
    bad=KUBELET_CONFIG_HEADER + """\
evictionMinimumReclaim:
  nodefs.available: 500Mi
""",
    good=KUBELET_CONFIG_HEADER + """\
evictionMinimumReclaim:
  memory.available: 200Mi
""",
    example_input="kubelet-config",
)


def check(node: KubeletSubject, params: NoParams, context: Context
          ) -> Iterator[Violation]:
    settings = node.settings
    known, reclaim = settings.map_value("evictionMinimumReclaim", MEMORY)
    hard = settings.hard_memory()
    if not known or reclaim is not None or hard is None or not hard.usable:
        return  # set, set elsewhere, or no memory eviction to reclaim for (OOM201)
    path = ("evictionMinimumReclaim",) if settings.written("evictionMinimumReclaim") else \
        ("evictionHard", MEMORY)
    yield Violation("no evictionMinimumReclaim for memory.available: each eviction frees just "
                    f"enough to get back above the hard threshold {hard.text}, so the node "
                    "hovers at it and evicts pod after pod", path)
