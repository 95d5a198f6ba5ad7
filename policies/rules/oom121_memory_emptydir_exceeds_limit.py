"""OOM121 memory-emptydir-exceeds-limit."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from oomguard.policies.quantity import human
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation
from oomguard.policies.workload.model import MEMORY_EMPTYDIR, Container, PodModel

CODE = "OOM121"
NAME = "memory-emptydir-exceeds-limit"
SEVERITY = "warning"
SCOPE = Scope.WORKLOAD
REQUIRES = MEMORY_EMPTYDIR  # every violation needs it; the engine skips models without it

DOC = RuleDoc(
    what="Flags a memory-backed emptyDir whose `sizeLimit` exceeds the summed memory limits "
         "of the containers that mount it.",
    why="The tmpfs pages count against those containers' memory limits, so the volume can "
        "never be filled to its size: the container is OOM-killed first, and the size limit "
        "gives a false sense of safety.",
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
      limits: {memory: 256Mi}
  volumes:
  - name: cache
    emptyDir: {medium: Memory, sizeLimit: 1Gi}
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
      limits: {memory: 1Gi}
  volumes:
  - name: cache
    emptyDir: {medium: Memory, sizeLimit: 256Mi}
""",
)


def check(pod: PodModel, params: NoParams, context: Context) -> Iterator[Violation]:
    by_volume: dict[str, list[Container]] | None = None
    for volume in pod.volumes:
        size = volume.size_limit
        if volume.emptydir_medium != "Memory" or size is None or size.value is None:
            continue
        if by_volume is None:  # one pass over the mounts, not one per volume (volumes x
            by_volume = _mounting(pod)  # containers made 5,000 of each a 30 s review)
        mounting = by_volume.get(volume.name, [])
        limits = [c.memory_limit.value if c.memory_limit else None for c in mounting]
        if not mounting or any(v is None for v in limits):
            continue  # no limit to compare with: OOM101's finding
        total = sum((v for v in limits if v is not None), Decimal(0))
        if size.value > total:
            names = ", ".join(repr(c.name) for c in mounting)
            yield Violation(f"emptyDir {volume.name!r} may hold {human(size.value)} of tmpfs "
                            f"but the containers mounting it ({names}) are limited to "
                            f"{human(total)}: they are OOM-killed before it is full",
                            size.path)


def _mounting(pod: PodModel) -> dict[str, list[Container]]:
    """The containers that mount each volume, in container order, each once."""
    found: dict[str, list[Container]] = {}
    for container in pod.resource_containers:
        for name in dict.fromkeys(name for name, _ in container.volume_mounts):
            found.setdefault(name, []).append(container)
    return found
