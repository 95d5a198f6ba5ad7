"""OOM202 kubelet-eviction-defaults-dropped."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.node.rulekit import KUBELET_CONFIG_HEADER
from oomguard.policies.node.subjects import KubeletSubject
from oomguard.policies.node.thresholds import DEFAULT_EVICTION_HARD
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation

CODE = "OOM202"
NAME = "kubelet-eviction-defaults-dropped"
SEVERITY = "warning"
SCOPE = Scope.KUBELET

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


def check(node: KubeletSubject, params: NoParams, context: Context
          ) -> Iterator[Violation]:
    settings = node.settings
    if not settings.written("evictionHard") or settings.merges_defaults:
        return
    if settings.drop_in and "evictionHard" not in settings.from_flags:
        return  # a drop-in's map is merged key by key into the base configuration's
    written = settings.written_map("evictionHard")
    if written is None:
        return  # not a map: OOM206
    dropped = [f"{signal}<{value}" for signal, value in DEFAULT_EVICTION_HARD.items()
               if signal not in written]
    if not dropped:
        return
    how = "--eviction-hard replaces the defaults" if "evictionHard" in settings.from_flags \
        else "evictionHard is set partially without mergeDefaultEvictionSettings: true"
    yield Violation(f"{how}: these default signals become 0 (never evicted on): "
                    f"{', '.join(dropped)}", ("evictionHard",))
