"""OOM140 hpa-memory-without-request (looks across all objects of one lint run)."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation
from oomguard.policies.workload.runmodel import HpaModel

CODE = "OOM140"
NAME = "hpa-memory-without-request"
SEVERITY = "error"
SCOPE = Scope.RUN

DOC = RuleDoc(
    what="Flags a HorizontalPodAutoscaler that scales on memory utilization of a workload "
         "(in the same input) whose containers lack memory requests.",
    why="Utilization is usage divided by the request. Without a request the HPA controller "
        "cannot compute it (`missing request for memory`) and never scales — exactly when "
        "memory runs out.",
    bad="""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: memory
      target: {type: Utilization, averageUtilization: 80}
""",
    good="""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx
        resources:
          requests: {memory: 256Mi}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: memory
      target: {type: Utilization, averageUtilization: 80}
""",
)


def check(hpa: HpaModel, params: NoParams, context: Context) -> Iterator[Violation]:
    workload = hpa.target_workload()
    if workload is None:
        return
    for metric in hpa.memory_metrics:
        if metric.container is not None:
            missing = [c for c in workload.containers_without_memory_request
                       if c == metric.container]
        else:
            missing = list(workload.containers_without_memory_request)
        if missing:
            names = ", ".join(repr(c) for c in missing)
            yield Violation(f"scales {workload.ref} on memory utilization, but container(s) "
                            f"{names} have no memory request: utilization cannot be computed "
                            "and the HPA never scales", metric.path)
