"""OOM209 kubelet-enforce-allocatable-invalid."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.node.subjects import KubeletSubject
from policies.rule import Context, RuleDoc, Scope, Violation
from policies.rules._node import KUBELET_CONFIG_HEADER

CODE = "OOM209"
NAME = "kubelet-enforce-allocatable-invalid"
SEVERITY = "error"
SCOPE = Scope.KUBELET
ENABLED = True
PARAMS: dict[str, Any] = {}
DEFAULTS: dict[str, Any] = {}

# pkg/kubelet/apis/config/validation/validation.go (enforceNodeAllocatable checks)
_VALID = ("pods", "system-reserved", "kube-reserved", "system-reserved-compressible",
          "kube-reserved-compressible", "none")
_CGROUP = {"system-reserved": "systemReservedCgroup", "kube-reserved": "kubeReservedCgroup",
           "system-reserved-compressible": "systemReservedCgroup",
           "kube-reserved-compressible": "kubeReservedCgroup"}

DOC = RuleDoc(
    what="Validates `enforceNodeAllocatable` as the kubelet does: only known values, no "
         "duplicates, `none` alone, a `*-reserved` value only with its `*ReservedCgroup`, a "
         "`-compressible` value not together with its plain twin, and `cgroupsPerQOS` on.",
    why="The kubelet refuses to start with an invalid enforcement list, taking the node out "
        "of service.",
    bad=KUBELET_CONFIG_HEADER + """\
enforceNodeAllocatable: ["pods", "system-reserved"]
""",
    good=KUBELET_CONFIG_HEADER + """\
enforceNodeAllocatable: ["pods", "system-reserved"]
systemReservedCgroup: /system.slice
""",
    example_input="kubelet-config",
)


def check(node: KubeletSubject, params: Mapping[str, Any], context: Context
          ) -> Iterator[Violation]:
    settings = node.settings
    if settings.enforce_node_allocatable is None:
        return
    values = settings.enforce_node_allocatable
    path = ("enforceNodeAllocatable",)
    seen: set[str] = set()
    for value in values:
        if value not in _VALID:
            yield Violation(f"enforceNodeAllocatable: unknown value {value!r} (valid: "
                            f"{', '.join(_VALID)}); the kubelet refuses to start", path)
        if value in seen:
            yield Violation(f"enforceNodeAllocatable: duplicate value {value!r}", path)
        seen.add(value)
        cgroup_field = _CGROUP.get(value)
        if cgroup_field:
            configured = settings.system_reserved_cgroup if cgroup_field.startswith("system") \
                else settings.kube_reserved_cgroup
            if not configured:
                yield Violation(f"enforceNodeAllocatable has {value!r} but {cgroup_field} is "
                                "not set; the kubelet refuses to start", path)
    if "none" in values and len(values) > 1:
        yield Violation("enforceNodeAllocatable: 'none' cannot be combined with other values",
                        path)
    for twin in ("system-reserved", "kube-reserved"):
        if twin in values and f"{twin}-compressible" in values:
            yield Violation(f"enforceNodeAllocatable: {twin!r} and {twin + '-compressible'!r} "
                            "cannot both be set", path)
    if settings.cgroups_per_qos is False and [v for v in values if v != "none"]:
        yield Violation("enforceNodeAllocatable needs cgroupsPerQOS: true; the kubelet refuses "
                        "to start", ("cgroupsPerQOS",))
