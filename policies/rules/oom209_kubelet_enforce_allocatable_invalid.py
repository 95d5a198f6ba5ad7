"""OOM209 kubelet-enforce-allocatable-invalid."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.node.rulekit import KUBELET_CONFIG_HEADER
from oomguard.policies.node.subjects import KubeletSubject
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation

CODE = "OOM209"
NAME = "kubelet-enforce-allocatable-invalid"
SEVERITY = "error"
SCOPE = Scope.KUBELET

# pkg/kubelet/apis/config/validation/validation.go (ValidateKubeletConfiguration, the
# enforceNodeAllocatable loop): the values, the cgroup each *-reserved value needs, and the
# compressible values that exclude their plain twin.
_VALID = ("pods", "system-reserved", "system-reserved-compressible", "kube-reserved",
          "kube-reserved-compressible", "none")
_CGROUP = {"system-reserved": "systemReservedCgroup",
           "system-reserved-compressible": "systemReservedCgroup",
           "kube-reserved": "kubeReservedCgroup",
           "kube-reserved-compressible": "kubeReservedCgroup"}
_TWINS = (("system-reserved", "system-reserved-compressible"),
          ("kube-reserved", "kube-reserved-compressible"))
_REFUSES = "the kubelet refuses to start"
_FLAG_FIELDS = ("enforceNodeAllocatable", "cgroupsPerQOS", "systemReservedCgroup",
                "kubeReservedCgroup")

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


def check(node: KubeletSubject, params: NoParams, context: Context
          ) -> Iterator[Violation]:
    settings = node.settings
    field = "enforceNodeAllocatable"
    for problem in settings.flag_problems:
        if problem.field in _FLAG_FIELDS:
            yield Violation(problem.message, (problem.field,), line=problem.line,
                            column=problem.column)
    if settings.written(field) and not isinstance(settings.fields[field], list):
        yield Violation(f"{field} must be a list: the kubelet cannot decode the configuration",
                        (field,))
        return
    values = settings.enforced()
    if values is None:
        return  # set by another input
    for plain, compressible in _TWINS:
        if plain in values and compressible in values:
            yield Violation(f"{field} has both {plain!r} and {compressible!r}, which cannot be "
                            f"specified together: {_REFUSES}", (field, values.index(compressible)))
    per_qos = settings.flag("cgroupsPerQOS", True)
    seen: set[str] = set()
    for index, value in enumerate(values):
        where = (field, index) if settings.written(field) else ("cgroupsPerQOS",)
        if value in seen:
            yield Violation(f"{field} has {value!r} twice: {_REFUSES}", where)
            continue
        seen.add(value)
        if value not in _VALID:
            yield Violation(f"{field} has {value!r}; valid values are "
                            f"{', '.join(_VALID)}: {_REFUSES}", where)
            continue
        if value == "none":
            if len(values) > 1:
                yield Violation(f"{field} has 'none' together with other values: {_REFUSES}",
                                where)
            continue
        cgroup_field = _CGROUP.get(value)
        if cgroup_field is not None:
            cgroup = settings.text_field(cgroup_field)
            if cgroup == "":
                yield Violation(f"{field} has {value!r} but {cgroup_field} is not set: "
                                f"{_REFUSES}", where)
        if per_qos is False:
            shown = f"{value!r}" if settings.written(field) else f"{value!r} (the default)"
            yield Violation(f"{field} has {shown} but cgroupsPerQOS is false: {_REFUSES}; "
                            f"set {field} to [] or [none] to run without QoS cgroups",
                            ("cgroupsPerQOS",))
