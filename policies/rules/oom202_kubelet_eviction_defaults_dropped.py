"""OOM202 kubelet-eviction-defaults-dropped."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.node.kubelet import DEFAULT_EVICTION_HARD
from policies.node.subjects import KubeletSubject
from policies.rule import Context, RuleDoc, Scope, Violation
from policies.rules._node import KUBELET_CONFIG_HEADER

CODE = "OOM202"
NAME = "kubelet-eviction-defaults-dropped"
SEVERITY = "warning"
SCOPE = Scope.KUBELET
ENABLED = True
PARAMS: dict[str, Any] = {}
DEFAULTS: dict[str, Any] = {}

DOC = RuleDoc(
    what="Flags an `evictionHard` that sets only some of the default signals without "
         "`mergeDefaultEvictionSettings: true`, and lists the signals that are lost.",
    why="A partial evictionHard replaces the defaults instead of extending them: every "
        "signal left out becomes 0 — disk and inode eviction silently stop.",
    bad=KUBELET_CONFIG_HEADER + """\
evictionHard:
  memory.available: "500Mi"
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
    settings = node.settings
    if settings.eviction_hard is None or settings.merges_defaults:
        return
    dropped = [s for s in DEFAULT_EVICTION_HARD if s not in settings.eviction_hard]
    if dropped:
        yield Violation("evictionHard is set partially without mergeDefaultEvictionSettings: "
                        f"these default signals become 0: {', '.join(dropped)}",
                        ("evictionHard",))
