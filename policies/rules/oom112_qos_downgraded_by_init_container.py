"""OOM112 qos-downgraded-by-init-container."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation
from oomguard.policies.workload.facts import BURSTABLE
from oomguard.policies.workload.model import INIT_CONTAINERS, Container, PodModel

CODE = "OOM112"
NAME = "qos-downgraded-by-init-container"
SEVERITY = "warning"
SCOPE = Scope.WORKLOAD
REQUIRES = INIT_CONTAINERS  # every violation needs it; the engine skips models without it

DOC = RuleDoc(
    what="Flags pods whose regular containers are all set for Guaranteed QoS (cpu and memory "
         "requests equal to limits) while an init container or sidecar is not, which makes "
         "the whole pod Burstable.",
    why="QoS is decided over all containers, init containers and sidecars included. One "
        "forgotten init container silently moves the pod from oom_score_adj -997 to a "
        "Burstable score, and out of the last group the kubelet evicts.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: db}
spec:
  initContainers:
  - name: migrate
    image: migrate
  containers:
  - name: db
    image: postgres
    resources:
      limits: {memory: 1Gi, cpu: "1"}
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: db}
spec:
  initContainers:
  - name: migrate
    image: migrate
    resources:
      limits: {memory: 256Mi, cpu: 100m}
  containers:
  - name: db
    image: postgres
    resources:
      limits: {memory: 1Gi, cpu: "1"}
""",
)


def _guaranteed_shape(container: Container) -> bool:
    for name in ("cpu", "memory"):
        request, limit = container.requests.get(name), container.limits.get(name)
        if request is None or limit is None or limit.value is None or limit.value <= 0:
            return False
        if request.value != limit.value:
            return False
    return True


def check(pod: PodModel, params: NoParams, context: Context) -> Iterator[Violation]:
    if pod.pod_requests or pod.pod_limits or not pod.regular:
        return
    for container in pod.regular:
        if not _guaranteed_shape(container):
            return
    if pod.qos != BURSTABLE:
        return
    for container in pod.init:
        if not _guaranteed_shape(container):
            yield Violation(f"every regular container is set for Guaranteed QoS but "
                            f"{container.label} lacks cpu/memory limits equal to its "
                            "requests: the pod is Burstable", container.resources_path,
                            container.name)
