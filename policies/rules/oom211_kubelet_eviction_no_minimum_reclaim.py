"""OOM211 kubelet-eviction-no-minimum-reclaim."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.node.subjects import KubeletSubject
from policies.rule import Context, RuleDoc, Scope, Violation
from policies.rules._node import KUBELET_CONFIG_HEADER, MEMORY

CODE = "OOM211"
NAME = "kubelet-eviction-no-minimum-reclaim"
SEVERITY = "info"
SCOPE = Scope.KUBELET
ENABLED = True
PARAMS: dict[str, Any] = {}
DEFAULTS: dict[str, Any] = {}

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


def check(node: KubeletSubject, params: Mapping[str, Any], context: Context
          ) -> Iterator[Violation]:
    if MEMORY not in node.settings.eviction_minimum_reclaim:
        path = ("evictionMinimumReclaim",) if node.settings.eviction_minimum_reclaim else \
            ("evictionHard",)
        yield Violation("no evictionMinimumReclaim for memory.available: the node will hover "
                        "at the eviction threshold and evict pod after pod", path)
