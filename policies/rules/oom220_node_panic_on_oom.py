"""OOM220 node-panic-on-oom."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.node.subjects import SysctlSubject
from oomguard.policies.node.sysctl import integer_value
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation

CODE = "OOM220"
NAME = "node-panic-on-oom"
SEVERITY = "error"
SCOPE = Scope.SYSCTL

DOC = RuleDoc(
    what="Flags a sysctl file that sets `vm.panic_on_oom` to 1 or 2.",
    why="The node kernel-panics and reboots on any out-of-memory condition — including one "
        "confined to a single container's cgroup with value 2 — instead of killing one "
        "process. The kubelet sets it to 0 at start-up (or refuses to start with "
        "protectKernelDefaults); a later `sysctl --system` reload undoes that.",
    bad="vm.panic_on_oom = 1\n",
    good="vm.panic_on_oom = 0\nvm.overcommit_memory = 1\n",
    example_input="sysctl",
)


_MEANING = {1: "the kernel panics on any system-wide out-of-memory",
            2: "the kernel panics on every out-of-memory, even one confined to a container's "
               "memory limit"}


def check(node: SysctlSubject, params: NoParams, context: Context
          ) -> Iterator[Violation]:
    entry = node.get("vm.panic_on_oom")
    value = integer_value(entry.value) if entry is not None else None
    if entry is None or value not in _MEANING:
        return
    assert value is not None
    yield Violation(f"vm.panic_on_oom = {entry.value}: {_MEANING[value]}, taking the whole "
                    "node down instead of killing one process; the kubelet sets 0 at start-up (or "
                    "refuses to start with protectKernelDefaults: true), and a later sysctl "
                    "reload of this file undoes that", ("vm.panic_on_oom",),
                    line=entry.line, column=entry.column)
