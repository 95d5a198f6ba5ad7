"""OOM221 node-overcommit-memory."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.node.subjects import SysctlSubject
from oomguard.policies.node.sysctl import integer_value
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation

CODE = "OOM221"
NAME = "node-overcommit-memory"
SEVERITY = "warning"
SCOPE = Scope.SYSCTL

DOC = RuleDoc(
    what="Flags a sysctl file that sets `vm.overcommit_memory` to anything but 1.",
    why="The kubelet expects 1 (always overcommit) and sets it at start-up, or refuses to "
        "start when protectKernelDefaults is true and it differs; with 2, allocations fail "
        "in containers far below their limits; a later sysctl reload undoes the kubelet's "
        "setting.",
    bad="vm.overcommit_memory = 2\n",
    good="vm.overcommit_memory = 1\n",
    example_input="sysctl",
)


_MEANING = {0: "heuristic overcommit: the kernel refuses allocations it guesses cannot be "
               "met",
            2: "strict accounting: allocations fail once the commit limit (swap + "
               "overcommit_ratio% of RAM) is reached, in containers far below their limits"}


def check(node: SysctlSubject, params: NoParams, context: Context
          ) -> Iterator[Violation]:
    entry = node.get("vm.overcommit_memory")
    if entry is None:
        return
    value = integer_value(entry.value)
    if value == 1:
        return
    meaning = _MEANING.get(value, "not a value the kernel accepts") if value is not None \
        else "not a number"
    yield Violation(f"vm.overcommit_memory = {entry.value} ({meaning}), but the kubelet "
                    "expects 1: it sets 1 at start-up (or refuses to start with "
                    "protectKernelDefaults: true), and a later sysctl reload of this file "
                    "undoes that", ("vm.overcommit_memory",), line=entry.line,
                    column=entry.column)
