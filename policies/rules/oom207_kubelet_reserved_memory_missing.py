"""OOM207 kubelet-reserved-memory-missing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.node.subjects import KubeletSubject
from policies.rule import Context, RuleDoc, Scope, Violation
from policies.rules._node import KUBELET_CONFIG_HEADER

CODE = "OOM207"
NAME = "kubelet-reserved-memory-missing"
SEVERITY = "warning"
SCOPE = Scope.KUBELET
ENABLED = True
PARAMS: dict[str, Any] = {}
DEFAULTS: dict[str, Any] = {}

DOC = RuleDoc(
    what="Flags a kubelet that reserves no memory in `systemReserved` or `kubeReserved`.",
    why="Allocatable memory is then the whole node minus the eviction threshold: the "
        "scheduler packs pods onto memory the kubelet, the container runtime and system "
        "daemons need, and under load the kernel OOM killer takes them or the pods.",
    bad=KUBELET_CONFIG_HEADER + """\
systemReserved:
  cpu: 500m
""",
    good=KUBELET_CONFIG_HEADER + """\
systemReserved:
  cpu: 500m
  memory: 1Gi
kubeReserved:
  memory: 1Gi
""",
    example_input="kubelet-config",
)


def check(node: KubeletSubject, params: Mapping[str, Any], context: Context
          ) -> Iterator[Violation]:
    settings = node.settings
    kube = settings.reserved_memory_bytes("kube")
    system = settings.reserved_memory_bytes("system")
    if (kube is not None and kube > 0) or (system is not None and system > 0):
        return
    path = ("systemReserved",) if settings.system_reserved else (
        ("kubeReserved",) if settings.kube_reserved else ())
    yield Violation("neither systemReserved nor kubeReserved reserves memory: pods can be "
                    "scheduled onto the memory the kubelet and system daemons need", path)
