"""OOM120 memory-emptydir-unbounded."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation
from oomguard.policies.workload.model import MEMORY_EMPTYDIR, PodModel

CODE = "OOM120"
NAME = "memory-emptydir-unbounded"
SEVERITY = "error"
SCOPE = Scope.WORKLOAD
REQUIRES = MEMORY_EMPTYDIR  # every violation needs it; the engine skips models without it

DOC = RuleDoc(
    what="Flags `emptyDir` volumes with `medium: Memory` (tmpfs) that have no `sizeLimit`.",
    why="Files written to a memory-backed emptyDir are charged to the container's memory "
        "cgroup. Without a size limit a log or cache file grows until the container is "
        "OOM-killed — and the files survive the restart, so it is killed again.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    volumeMounts: [{name: cache, mountPath: /cache}]
    resources:
      limits: {memory: 512Mi}
  volumes:
  - name: cache
    emptyDir: {medium: Memory}
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    volumeMounts: [{name: cache, mountPath: /cache}]
    resources:
      limits: {memory: 512Mi}
  volumes:
  - name: cache
    emptyDir: {medium: Memory, sizeLimit: 64Mi}
""",
)


def check(pod: PodModel, params: NoParams, context: Context) -> Iterator[Violation]:
    for volume in pod.volumes:
        if volume.emptydir_medium == "Memory" and volume.size_limit is None:
            yield Violation(f"emptyDir {volume.name!r} is tmpfs (medium: Memory) without "
                            "sizeLimit: what is written there counts against the memory "
                            "limit until the container is OOM-killed",
                            (*volume.path, "emptyDir"))
