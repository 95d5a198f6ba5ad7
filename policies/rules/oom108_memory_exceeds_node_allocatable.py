"""OOM108 memory-exceeds-node-allocatable."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.quantity import human
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation
from oomguard.policies.workload.facts import pod_memory_request
from oomguard.policies.workload.model import PodModel

CODE = "OOM108"
NAME = "memory-exceeds-node-allocatable"
SEVERITY = "error"
SCOPE = Scope.WORKLOAD

DOC = RuleDoc(
    what="Checks the pod's effective memory request (as the scheduler computes it: regular "
         "containers and sidecars, the largest init container, pod overhead, or the "
         "pod-level request) against the largest node allocatable memory known to the "
         "policy (`node.allocatable`, or the cluster's nodes in the webhook).",
    why="No node can fit the pod: it stays Pending with `Insufficient memory` forever, and "
        "a Deployment rollout never finishes.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: big}
spec:
  containers:
  - name: app
    image: nginx
    resources:
      requests: {memory: 20Gi}
      limits: {memory: 20Gi}
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: big}
spec:
  containers:
  - name: app
    image: nginx
    resources:
      requests: {memory: 8Gi}
      limits: {memory: 8Gi}
""",
    example_policy={"node": {"allocatable": "14Gi"}},
)


def check(pod: PodModel, params: NoParams, context: Context) -> Iterator[Violation]:
    allocatable = context.node_allocatable
    if allocatable is None:
        return
    request = pod_memory_request(pod)
    if request > allocatable:
        yield Violation(f"the pod requests {human(request)} of memory but the largest node "
                        f"allocatable is {human(allocatable)}: it stays Pending "
                        "(Insufficient memory)", pod.spec_path)
