"""OOM113 oom-score-adj-field-ignored."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation, format_path
from oomguard.policies.workload.model import OOM_SCORE_ADJ_KEY, PodModel

CODE = "OOM113"
NAME = "oom-score-adj-field-ignored"
SEVERITY = "error"
SCOPE = Scope.WORKLOAD
REQUIRES = OOM_SCORE_ADJ_KEY  # every violation needs it; the engine skips models without it

DOC = RuleDoc(
    what="Flags an `oomScoreAdj` key anywhere in a pod spec, for example in a pod or "
         "container `securityContext`.",
    why="Kubernetes has no such field. The API server drops it (or rejects it with strict "
        "field validation), so the pod runs with the oom_score_adj of its QoS class and the "
        "protection the author wanted does not exist. Use Guaranteed QoS or a priority "
        "class instead.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: db}
spec:
  containers:
  - name: db
    image: postgres
    securityContext:
      oomScoreAdj: -1000
    resources:
      limits: {memory: 1Gi, cpu: "1"}
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: db}
spec:
  containers:
  - name: db
    image: postgres
    resources:
      limits: {memory: 1Gi, cpu: "1"}
""",
)


def check(pod: PodModel, params: NoParams, context: Context) -> Iterator[Violation]:
    paths = pod.oom_score_adj_paths
    # a container's path is (*spec, list key, index): a lookup, not a scan per path
    by_path = {c.path: c.name for c in pod.containers} if paths else {}
    depth = len(pod.spec_path) + 2
    for path in paths:
        container = by_path.get(path[:depth])
        yield Violation(f"{format_path(path)} is not a Kubernetes field: it is dropped and "
                        "protects nothing; the kill order follows the QoS class",
                        path, container)
