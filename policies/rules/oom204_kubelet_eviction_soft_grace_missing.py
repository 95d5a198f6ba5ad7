"""OOM204 kubelet-eviction-soft-grace-missing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.node.subjects import KubeletSubject
from policies.rule import Context, RuleDoc, Scope, Violation
from policies.rules._node import KUBELET_CONFIG_HEADER

CODE = "OOM204"
NAME = "kubelet-eviction-soft-grace-missing"
SEVERITY = "error"
SCOPE = Scope.KUBELET
ENABLED = True
PARAMS: dict[str, Any] = {}
DEFAULTS: dict[str, Any] = {}

DOC = RuleDoc(
    what="Flags an `evictionSoft` signal without a matching `evictionSoftGracePeriod`.",
    why="The kubelet validates that every soft threshold has a grace period and refuses to "
        "start otherwise (`grace period must be specified for the soft eviction threshold`): "
        "the node goes NotReady.",
    bad=KUBELET_CONFIG_HEADER + """\
evictionSoft:
  memory.available: "1Gi"
""",
    good=KUBELET_CONFIG_HEADER + """\
evictionSoft:
  memory.available: "1Gi"
evictionSoftGracePeriod:
  memory.available: "1m30s"
""",
    example_input="kubelet-config",
)


def check(node: KubeletSubject, params: Mapping[str, Any], context: Context
          ) -> Iterator[Violation]:
    grace = node.settings.eviction_soft_grace_period
    for signal in node.settings.eviction_soft:
        if signal not in grace:
            yield Violation(f"evictionSoft {signal} has no evictionSoftGracePeriod: the kubelet "
                            "refuses to start", ("evictionSoft", signal))
