"""OOM103 memory-request-exceeds-limit."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.quantity import human
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation
from oomguard.policies.rules._common import where
from oomguard.policies.workload.model import MEMORY_LIMIT, PodModel

CODE = "OOM103"
NAME = "memory-request-exceeds-limit"
SEVERITY = "error"
SCOPE = Scope.WORKLOAD
REQUIRES = MEMORY_LIMIT  # every violation needs it; the engine skips models without it

DOC = RuleDoc(
    what="Checks that no memory request is larger than the memory limit, per container and "
         "at pod level.",
    why="The API server rejects such a pod (`must be less than or equal to memory limit`); "
        "for a Deployment the ReplicaSet then fails to create any pod at all.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    resources:
      requests: {memory: 1Gi}
      limits: {memory: 512Mi}
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
      requests: {memory: 512Mi}
      limits: {memory: 1Gi}
""",
)


def check(pod: PodModel, params: NoParams, context: Context) -> Iterator[Violation]:
    for container in pod.resource_containers:
        request, limit = container.memory_request, container.memory_limit
        if request is None or limit is None or request.value is None or limit.value is None:
            continue
        if request.value > limit.value:
            yield Violation(
                f"{container.label} requests {human(request.value)}{where(request)} but is "
                f"limited to {human(limit.value)}{where(limit)}: the API server rejects it",
                request.path, container.name)
    request, limit = pod.pod_requests.get("memory"), pod.pod_limits.get("memory")
    if request is not None and limit is not None and request.value is not None \
            and limit.value is not None and request.value > limit.value:
        yield Violation(f"pod-level memory request {human(request.value)} exceeds the pod-level "
                        f"limit {human(limit.value)}: the API server rejects it", request.path)
