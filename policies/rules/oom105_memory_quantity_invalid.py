"""OOM105 memory-quantity-invalid."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation
from oomguard.policies.workload.model import MEMORY_QUANTITY, PodModel

CODE = "OOM105"
NAME = "memory-quantity-invalid"
SEVERITY = "error"
SCOPE = Scope.WORKLOAD
REQUIRES = MEMORY_QUANTITY  # every violation needs it; the engine skips models without it

DOC = RuleDoc(
    what="Checks that every memory quantity parses under the Kubernetes quantity grammar "
         "(apimachinery's `ParseQuantity`): `1GB`, `1 Gi`, `1e3Mi` and `1K` do not.",
    why="The API server rejects the object (`quantities must match the regular "
        "expression`), so the rollout fails at apply time — or, inside a Helm chart, "
        "only in the cluster that renders that value.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    resources:
      limits: {memory: 1GB}
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
      limits: {memory: 1G}
""",
)


def check(pod: PodModel, params: NoParams, context: Context) -> Iterator[Violation]:
    for quantity, container in pod.memory_quantities():
        if quantity.value is None:
            yield Violation(f"memory quantity {quantity.raw!r} is not a Kubernetes quantity "
                            f"({quantity.error}); the API server rejects it",
                            quantity.path, container.name if container else None)
