"""OOM206 kubelet-eviction-threshold-invalid."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from oomguard.policies.node.rulekit import KUBELET_CONFIG_HEADER
from oomguard.policies.node.subjects import KubeletSubject
from oomguard.policies.node.thresholds import (
    grace_period_error,
    minimum_reclaim_error,
    parse_threshold,
)
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation

CODE = "OOM206"
NAME = "kubelet-eviction-threshold-invalid"
SEVERITY = "error"
SCOPE = Scope.KUBELET

DOC = RuleDoc(
    what="Validates eviction settings as the kubelet does: known signals, quantities or "
         "percentages (0–100%), positive values, Go durations for grace periods, and "
         "quantities or percentages for minimum reclaim.",
    why="The kubelet refuses to start with an invalid threshold (`unsupported eviction "
        "signal`, `must be positive`), taking the node out of service at the next restart.",
    bad=KUBELET_CONFIG_HEADER + """\
evictionHard:
  memory.avail: "100Mi"
  nodefs.available: "-5%"
evictionSoft:
  memory.available: "1Gi"
evictionSoftGracePeriod:
  memory.available: "90 seconds"
""",
    good=KUBELET_CONFIG_HEADER + """\
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "5%"
evictionSoft:
  memory.available: "1Gi"
evictionSoftGracePeriod:
  memory.available: "90s"
""",
    example_input="kubelet-config",
)


_CHECKS: dict[str, Callable[[str, object], str | None]] = {
    "evictionHard": lambda signal, raw: parse_threshold(signal, raw).error,
    "evictionSoft": lambda signal, raw: parse_threshold(signal, raw).error,
    "evictionSoftGracePeriod": grace_period_error,
    "evictionMinimumReclaim": minimum_reclaim_error,
}


def check(node: KubeletSubject, params: NoParams, context: Context
          ) -> Iterator[Violation]:
    settings = node.settings
    for problem in settings.flag_problems:
        if problem.field in _CHECKS:
            yield Violation(problem.message, (problem.field,), line=problem.line,
                            column=problem.column)
    for field_name, validate in _CHECKS.items():
        if not settings.written(field_name):
            continue
        values = settings.written_map(field_name)
        if values is None:
            yield Violation(f"{field_name} must be a map of signal to value, not "
                            f"{settings.fields[field_name]!r}: the kubelet cannot decode the "
                            "configuration", (field_name,))
            continue
        for signal, raw in values.items():
            error = validate(signal, raw)
            if error:
                yield Violation(f"{field_name}: {error}; the kubelet refuses to start",
                                (field_name, signal))
