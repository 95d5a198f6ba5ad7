"""OOM114 oom-score-adj-proc-write."""

from __future__ import annotations

import re
from collections.abc import Iterator

from oomguard.policies.rule import Context, NoParams, Path, RuleDoc, Scope, Violation
from oomguard.policies.workload.model import PodModel

CODE = "OOM114"
NAME = "oom-score-adj-proc-write"
SEVERITY = "warning"
SCOPE = Scope.WORKLOAD

_PROC_FILE = r"/proc/[^\s'\"]+/oom_(?:score_)?adj\b"
# a redirection into the file, or tee/dd writing it; reading it (`cat`) is fine
_WRITE = re.compile(rf">>?\s*['\"]?{_PROC_FILE}|\btee\b[^|;&]*{_PROC_FILE}|\bof={_PROC_FILE}")

DOC = RuleDoc(
    what="Flags commands, args, lifecycle hooks and exec probes that write "
         "`/proc/<pid>/oom_score_adj` or `oom_adj`.",
    why="Writing the score by hand bypasses the kill order the kubelet derives from QoS: a "
        "Burstable container can make itself unkillable and push the kernel to kill a "
        "Guaranteed neighbour instead. It also needs privileges the pod should not have.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  containers:
  - name: app
    image: app
    command: ["sh", "-c", "echo -1000 > /proc/self/oom_score_adj && exec app"]
    resources:
      limits: {memory: 1Gi}
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  containers:
  - name: app
    image: app
    command: ["sh", "-c", "cat /proc/self/oom_score_adj && exec app"]
    resources:
      limits: {memory: 1Gi}
""",
)


def check(pod: PodModel, params: NoParams, context: Context) -> Iterator[Violation]:
    for container in pod.resource_containers:
        if not container.exec_commands and "oom_" not in container.command_text:
            continue  # the common case: no command of this container mentions it
        sources: list[tuple[list[str], Path]] = [
            (container.command, (*container.path, "command")),
            (container.args, (*container.path, "args")),
        ]
        sources.extend((e.argv, e.path) for e in container.exec_commands)
        for argv, path in sources:
            if not any("oom_" in word for word in argv):
                continue
            for i, word in enumerate(argv):
                if _WRITE.search(word) or (i > 0 and _WRITE.search(" ".join(argv[i - 1:i + 1]))):
                    yield Violation(f"container {container.name!r} writes oom_score_adj by "
                                    "hand: it bypasses the QoS-based kill order",
                                    (*path, i), container.name)
                    break
