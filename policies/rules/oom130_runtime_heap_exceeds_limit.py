"""OOM130 runtime-heap-exceeds-limit."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.quantity import human
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation
from oomguard.policies.workload.model import MEMORY_LIMIT, PodModel

CODE = "OOM130"
NAME = "runtime-heap-exceeds-limit"
SEVERITY = "error"
SCOPE = Scope.WORKLOAD
REQUIRES = MEMORY_LIMIT  # every violation needs it; the engine skips models without it

DOC = RuleDoc(
    what="Compares a declared runtime heap — JVM `-Xmx`/`-XX:MaxHeapSize`, Node.js "
         "`--max-old-space-size`, Go `GOMEMLIMIT` — in command, args or environment "
         "(`JAVA_TOOL_OPTIONS`, `JAVA_OPTS`, `_JAVA_OPTIONS`, `JDK_JAVA_OPTIONS`, "
         "`NODE_OPTIONS`) with the container's memory limit.",
    why="A heap as large as the limit leaves nothing for thread stacks, metaspace, native "
        "buffers and the runtime itself: the kernel OOM-kills the container before the "
        "runtime's own out-of-memory handling or garbage collector ever runs.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: api}
spec:
  containers:
  - name: api
    image: api
    env:
    - {name: JAVA_TOOL_OPTIONS, value: "-Xmx2g"}
    resources:
      limits: {memory: 2Gi}
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: api}
spec:
  containers:
  - name: api
    image: api
    env:
    - {name: JAVA_TOOL_OPTIONS, value: "-Xmx1536m"}
    resources:
      limits: {memory: 2Gi}
""",
)


def check(pod: PodModel, params: NoParams, context: Context) -> Iterator[Violation]:
    for container in pod.resource_containers:
        limit = container.memory_limit
        if limit is None or limit.value is None or limit.value <= 0:
            continue
        for heap in container.heap_settings:
            if heap.kind == "max-heap" and heap.value >= limit.value:
                yield Violation(f"{container.label}: {heap.text} ({human(heap.value)}) >= "
                                f"memory limit {human(limit.value)}: the heap alone can exceed "
                                "the limit; the container will be OOM-killed", heap.path,
                                container.name)
