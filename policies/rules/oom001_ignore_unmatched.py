"""OOM001 ignore-unmatched: computed by the engine while it applies suppressions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation

CODE = "OOM001"
NAME = "ignore-unmatched"
SEVERITY = "info"
SCOPE = Scope.META

DOC = RuleDoc(
    what="Reports an `oomguard.io/ignore` annotation (or `# oomguard: ignore=` comment) that "
         "names an unknown rule or that suppressed nothing.",
    why="A stale or misspelled ignore hides nothing today but will silently hide a real "
        "finding tomorrow, and a typo means the finding you meant to accept is still there.",
    bad="""\
apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations:
    oomguard.io/ignore: "memory-limit-mising"
spec:
  containers:
  - name: app
    image: nginx
    resources:
      limits: {memory: 256Mi, cpu: 100m}
""",
    good="""\
apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations:
    oomguard.io/ignore: "OOM110"
    oomguard.io/ignore-reason: "batch job, may be killed first"
spec:
  containers:
  - name: app
    image: nginx
""",
)


def check(subject: Any, params: NoParams, context: Context) -> Iterator[Violation]:
    """The engine computes this rule from the suppressions it applies; nothing to do here."""
    return iter(())
