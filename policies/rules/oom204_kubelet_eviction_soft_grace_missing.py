"""OOM204 kubelet-eviction-soft-grace-missing."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.node.rulekit import KUBELET_CONFIG_HEADER
from oomguard.policies.node.subjects import KubeletSubject
from oomguard.policies.node.thresholds import parse_threshold
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation

CODE = "OOM204"
NAME = "kubelet-eviction-soft-grace-missing"
SEVERITY = "error"
SCOPE = Scope.KUBELET

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


def check(node: KubeletSubject, params: NoParams, context: Context
          ) -> Iterator[Violation]:
    settings = node.settings
    soft = settings.effective_map("evictionSoft")
    if soft is None:
        soft = settings.written_map("evictionSoft") or {}
    for signal, raw in soft.items():
        threshold = parse_threshold(signal, raw)
        if threshold.error or threshold.ignored:
            continue  # invalid: OOM206; 0% and 100% are dropped and need no grace period
        known, grace = settings.map_value("evictionSoftGracePeriod", signal)
        if known and grace is None:
            yield Violation(f"evictionSoft {signal}<{threshold.text} has no "
                            "evictionSoftGracePeriod: the kubelet refuses to start (grace "
                            "period must be specified for the soft eviction threshold)",
                            ("evictionSoft", signal))
