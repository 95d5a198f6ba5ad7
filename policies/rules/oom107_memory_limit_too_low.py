"""OOM107 memory-limit-too-low."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from oomguard.policies.quantity import human
from oomguard.policies.rule import Context, RuleDoc, Scope, Violation
from oomguard.policies.rules._common import MinBytes, where
from oomguard.policies.workload.model import MEMORY_LIMIT, PodModel

CODE = "OOM107"
NAME = "memory-limit-too-low"
SEVERITY = "warning"
SCOPE = Scope.WORKLOAD
REQUIRES = MEMORY_LIMIT  # every violation needs it; the engine skips models without it
PARAMS: dict[str, Any] = {"min": {"type": ["string", "integer"], "format": "quantity"}}
DEFAULTS: dict[str, Any] = {"min": "16Mi"}
Params = MinBytes


DOC = RuleDoc(
    what="Checks that every memory limit is at least `min` (default 16Mi).",
    why="Below a few MiB the runtime, the shell and the dynamic loader alone exceed the "
        "limit: the container is OOM-killed at start and loops in CrashLoopBackOff.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    resources:
      limits: {memory: 4Mi}
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    resources:
      limits: {memory: 64Mi}
""",
)


def check(pod: PodModel, params: MinBytes, context: Context) -> Iterator[Violation]:
    for container in pod.resource_containers:
        limit = container.memory_limit
        if limit is None or limit.value is None or limit.value <= 0:
            continue
        minimum = params.min  # (read only when there is a limit)
        if limit.value < minimum:
            yield Violation(f"{container.label} memory limit {human(limit.value)}{where(limit)}"
                            f" is below {human(minimum)}: it is OOM-killed at start",
                            limit.path, container.name)
