"""OOM106 memory-unit-suspicious."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.quantity import quantity_text, split_quantity
from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation
from oomguard.policies.workload.model import MEMORY_QUANTITY, PodModel

CODE = "OOM106"
NAME = "memory-unit-suspicious"
SEVERITY = "error"
SCOPE = Scope.WORKLOAD
REQUIRES = MEMORY_QUANTITY  # every violation needs it; the engine skips models without it

ONE_MI = 1 << 20
_SUB_BYTE_SUFFIXES = {"m": "milli", "u": "micro", "n": "nano"}

DOC = RuleDoc(
    what="Flags memory quantities with the milli suffix (`512m` is 0.512 bytes; `u` and `n` "
         "likewise) and bare numbers below 1Mi (`512` is 512 bytes).",
    why="These are valid quantities, so nothing rejects them: the container gets a limit of "
        "a few bytes and is OOM-killed the moment it starts, or a request of nothing. The "
        "author meant `512Mi`.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    resources:
      requests: {memory: 512m}
      limits: {memory: 512m}
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
      requests: {memory: 512Mi}
      limits: {memory: 512Mi}
""",
)


def check(pod: PodModel, params: NoParams, context: Context) -> Iterator[Violation]:
    for quantity, container in pod.memory_quantities():
        if quantity.value is None:
            continue  # OOM105's
        text = quantity_text(quantity.raw) or ""
        name = container.name if container else None
        number, suffix = split_quantity(text)
        if suffix in _SUB_BYTE_SUFFIXES:
            yield Violation(f"memory {text!r} uses the {_SUB_BYTE_SUFFIXES[suffix]} suffix: it "
                            f"is {quantity.value.normalize():f} bytes; did you mean "
                            f"{number}Mi?", quantity.path, name)
        elif (not suffix or suffix[0] in "eE") and 0 < quantity.value < ONE_MI:
            yield Violation(f"memory {text!r} has no unit: it is {quantity.value.normalize():f} "
                            f"bytes, below 1Mi; did you mean {number}Mi?", quantity.path, name)
