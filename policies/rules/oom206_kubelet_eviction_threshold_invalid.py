"""OOM206 kubelet-eviction-threshold-invalid."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.node.kubelet import SIGNALS, parse_threshold, valid_duration
from policies.node.subjects import KubeletSubject
from policies.quantity import QuantityError, parse_quantity
from policies.rule import Context, RuleDoc, Scope, Violation
from policies.rules._node import KUBELET_CONFIG_HEADER

CODE = "OOM206"
NAME = "kubelet-eviction-threshold-invalid"
SEVERITY = "error"
SCOPE = Scope.KUBELET
ENABLED = True
PARAMS: dict[str, Any] = {}
DEFAULTS: dict[str, Any] = {}

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


def check(node: KubeletSubject, params: Mapping[str, Any], context: Context
          ) -> Iterator[Violation]:
    settings = node.settings
    for field_name, values in (("evictionHard", settings.eviction_hard or {}),
                               ("evictionSoft", settings.eviction_soft)):
        for signal, raw in values.items():
            threshold = parse_threshold(signal, raw)
            if threshold.error:
                yield Violation(f"{field_name}: {threshold.error}; the kubelet refuses to start",
                                (field_name, signal))
    for signal, raw in settings.eviction_soft_grace_period.items():
        if signal not in SIGNALS:
            yield Violation(f"evictionSoftGracePeriod: unknown eviction signal {signal!r}",
                            ("evictionSoftGracePeriod", signal))
        elif not valid_duration(str(raw)):
            yield Violation(f"evictionSoftGracePeriod {signal}: {raw!r} is not a duration "
                            "(like 90s or 1m30s)", ("evictionSoftGracePeriod", signal))
    for signal, raw in settings.eviction_minimum_reclaim.items():
        text = str(raw).strip()
        if signal not in SIGNALS:
            yield Violation(f"evictionMinimumReclaim: unknown eviction signal {signal!r}",
                            ("evictionMinimumReclaim", signal))
            continue
        try:
            ok = parse_quantity(text[:-1] if text.endswith("%") else text) >= 0
        except QuantityError:
            ok = False
        if not ok:
            yield Violation(f"evictionMinimumReclaim {signal}: {raw!r} is not a non-negative "
                            "quantity or percentage", ("evictionMinimumReclaim", signal))
