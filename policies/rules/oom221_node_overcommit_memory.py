"""OOM221 node-overcommit-memory."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.node.subjects import SysctlSubject
from policies.rule import Context, RuleDoc, Scope, Violation

CODE = "OOM221"
NAME = "node-overcommit-memory"
SEVERITY = "warning"
SCOPE = Scope.SYSCTL
ENABLED = True
PARAMS: dict[str, Any] = {}
DEFAULTS: dict[str, Any] = {}

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


def check(node: SysctlSubject, params: Mapping[str, Any], context: Context
          ) -> Iterator[Violation]:
    entry = node.effective().get("vm.overcommit_memory")
    if entry is not None and entry.value.strip() != "1":
        yield Violation(f"vm.overcommit_memory = {entry.value}, but the kubelet expects 1: it "
                        "resets it at start-up (or refuses to start with protectKernelDefaults) "
                        "and a sysctl reload undoes that", ("vm.overcommit_memory",),
                        line=entry.line, column=entry.column)
