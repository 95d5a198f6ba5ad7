"""OOM110 qos-besteffort."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation
from oomguard.policies.workload.facts import BEST_EFFORT
from oomguard.policies.workload.model import PodModel

CODE = "OOM110"
NAME = "qos-besteffort"
SEVERITY = "error"
SCOPE = Scope.WORKLOAD

DOC = RuleDoc(
    what="Flags pods whose QoS class is BestEffort: no container (init containers and "
         "sidecars included) requests or limits cpu or memory.",
    why="BestEffort containers get oom_score_adj 1000: the kernel kills them first when the "
        "node runs short, and the kubelet evicts them first under memory pressure.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
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
      requests: {memory: 128Mi, cpu: 100m}
      limits: {memory: 128Mi}
""",
)


def check(pod: PodModel, params: NoParams, context: Context) -> Iterator[Violation]:
    if pod.resource_containers and pod.qos == BEST_EFFORT:
        yield Violation("the pod is BestEffort (no cpu or memory requests or limits): "
                        "oom_score_adj 1000, first to be OOM-killed and evicted",
                        (*pod.spec_path, "containers"))
