"""OOM208 kubelet-allocatable-not-enforced."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.node.subjects import KubeletSubject
from policies.rule import Context, RuleDoc, Scope, Violation
from policies.rules._node import KUBELET_CONFIG_HEADER

CODE = "OOM208"
NAME = "kubelet-allocatable-not-enforced"
SEVERITY = "error"
SCOPE = Scope.KUBELET
ENABLED = True
PARAMS: dict[str, Any] = {}
DEFAULTS: dict[str, Any] = {}

DOC = RuleDoc(
    what="Flags an `enforceNodeAllocatable` that does not contain `pods` (the default is "
         "`[pods]`).",
    why="Without it the kubepods cgroup has no memory limit: pods together can use the "
        "memory reserved for the system, and the reservations exist only on paper.",
    bad=KUBELET_CONFIG_HEADER + """\
enforceNodeAllocatable: ["none"]
""",
    good=KUBELET_CONFIG_HEADER + """\
enforceNodeAllocatable: ["pods"]
""",
    example_input="kubelet-config",
)


def check(node: KubeletSubject, params: Mapping[str, Any], context: Context
          ) -> Iterator[Violation]:
    enforced = node.settings.enforced()
    if "pods" not in enforced:
        yield Violation(f"enforceNodeAllocatable is {enforced}: pods are not limited to "
                        "allocatable memory and can starve the system", ("enforceNodeAllocatable",))
