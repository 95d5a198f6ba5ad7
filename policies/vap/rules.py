"""The workload rules that CEL can express exactly, each as the CEL list of its findings.

Each builder mirrors one module of policies/rules (read them side by side): it returns CEL
text of a list of ``{'key': ..., 'message': ...}`` maps, one per finding, where ``key`` is
the container's name ('' for a pod-level finding), as the webhook's ratchet keys a finding
by (rule, container). The policy denies when the list holds a key that the old object of an
UPDATE did not have already (see policies.vap.objects).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from oomguard.policies.quantity import quantity_text
from oomguard.policies.vap import cel

Text = Callable[[str], str]  # CEL text as a function of a container variable's name

# policies.rules.oom106_memory_unit_suspicious: the milli, micro and nano suffixes; a valid
# quantity ends in one of these letters exactly when its suffix is one of them.
SUB_BYTE = r"[mun]$"
# ... and "no unit": an empty suffix or one that starts with e/E, as the rule tests it
# (`not suffix or suffix[0] in "eE"`, after policies.quantity.split_quantity)
NO_UNIT = r"^[+-]?[0-9.]*([eE].*)?$"
# how deep below the pod spec OOM113 looks for an oomScoreAdj key. No field of a PodSpec
# that the API server keeps lies deeper than 11 levels (spec.affinity.podAntiAffinity
# .preferred...[i].podAffinityTerm.labelSelector.matchExpressions[j].values[k]), and unknown
# fields are dropped when the object is decoded.
SEARCH_DEPTH = 12
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
EMPTY = "''"  # the key of a pod-level finding
OOM112_MESSAGE = ("' lacks cpu/memory limits equal to its requests while every regular "
                  "container is set for Guaranteed QoS: the pod is Burstable'")


class View:
    """The variables of one object (``object``, or ``oldObject`` with prefix ``old_``)."""

    def __init__(self, root: str, prefix: str, kinds: Sequence[Mapping[str, Any]]) -> None:
        self.root, self.prefix = root, prefix
        self.definitions: list[tuple[str, str]] = []
        self.tpl = self.define("tpl", cel.template(root, kinds))
        self.spec = self.define("spec", f"{self.tpl}.?spec.orValue({{}})")
        self.init = self.define("init", f"{self.spec}.?initContainers.orValue([])")
        self.main = self.define("main", f"{self.spec}.?containers.orValue([])")

    def define(self, name: str, expression: str) -> str:
        self.definitions.append((self.prefix + name, expression))
        return f"variables.{self.prefix}{name}"

    @property
    def has_spec(self) -> str:
        return f"{self.tpl}.?spec.hasValue()"

    def pod(self, *path: str) -> str:
        """An optional of a pod-level field (``spec.resources.limits.memory``)."""
        return cel.optional(self.spec, *path)


def finding(key: str, message: str) -> str:
    return f"{{'key': dyn({key}), 'message': dyn({message})}}"


def per_container(v: View, bad: Text, message: Text) -> str:
    """Findings of the init containers (sidecars included) and containers for which ``bad``
    holds; ``message`` follows the container's label ("init container 'x'", ...)."""
    parts = []
    for containers, label in ((v.init, cel.init_label), (v.main, cel.main_label)):
        parts.append(f"{containers}.filter(c, {bad('c')}).map(c, "
                     f"{finding(cel.name('c'), label('c') + ' + ' + message('c'))})")
    return " + ".join(parts)


def pod_level(condition: str, message: str) -> str:
    return f"({condition} ? [{finding(EMPTY, message)}] : [])"


def join(*parts: str) -> str:
    return " + ".join(parts)


def q_text(opt: str) -> str:
    return f"string({cel.text(opt)})"


# -- QoS (policies.workload.facts.qos_class) ------------------------------------------------

def pod_request(v: View, res: str) -> str:
    """The pod-level request after defaulting from the pod-level limit (SetDefaults_PodSpec)."""
    return f"{v.pod('resources', 'requests', res)}.or({v.pod('resources', 'limits', res)})"


def pod_level_set(v: View) -> str:
    """resourcehelper.IsPodLevelResourcesSet: a cpu or memory request or limit at pod level."""
    return " || ".join(f"{v.pod('resources', kind, res)}.hasValue()"
                       for kind in ("requests", "limits") for res in ("cpu", "memory"))


def best_effort(v: View) -> str:
    """No cpu or memory request or limit above zero (after defaulting), at pod level when it
    is set, else on any container (init containers and sidecars included)."""
    pod = " || ".join(
        cel.positive(pod_request(v, res)) + " || " + cel.positive(v.pod("resources", "limits", res))
        for res in ("cpu", "memory"))
    container = " || ".join(f"{cel.positive(cel.request('c', res))} || "
                            f"{cel.positive(cel.limit('c', res))}" for res in ("cpu", "memory"))
    return (f"(({pod_level_set(v)}) ? !({pod}) : "
            f"!({v.init} + {v.main}).exists(c, {container}))")


def guaranteed_shape(c: str) -> str:
    """cpu and memory limited above zero and the (defaulted) requests equal to the limits
    (policies.rules.oom112_qos_downgraded_by_init_container._guaranteed_shape)."""
    checks = []
    for res in ("cpu", "memory"):
        lim, req = cel.limit(c, res), cel.request(c, res)
        checks.append(f"{cel.positive(lim)} && {cel.valid(req)} && "
                      f"{cel.quantity(req)}.compareTo({cel.quantity(lim)}) == 0")
    return "(" + " && ".join(checks) + ")"


def guaranteed(v: View) -> str:
    """GetPodQOS Guaranteed: every container (or the pod level when set) has cpu and memory
    limits above zero and requests equal to them.

    ComputePodQOS compares the *sums* of requests and limits per resource; the two agree
    unless some request exceeds its limit, which the API server's validation rejects before
    any admission policy runs (ValidateResourceRequirements, for templates too)."""
    pod = " && ".join(
        f"{cel.positive(v.pod('resources', 'limits', res))} && {cel.valid(pod_request(v, res))} && "
        f"{cel.quantity(pod_request(v, res))}.compareTo("
        f"{cel.quantity(v.pod('resources', 'limits', res))}) == 0"
        for res in ("cpu", "memory"))
    return (f"(({pod_level_set(v)}) ? ({pod}) : "
            f"(({v.init} + {v.main}).size() > 0 && "
            f"({v.init} + {v.main}).all(c, {guaranteed_shape('c')})))")


# -- the rules --------------------------------------------------------------------------------

def oom101(v: View, params: Mapping[str, Any]) -> str:
    return (f"{v.pod('resources', 'limits', 'memory')}.hasValue() ? [] : " + per_container(
        v, lambda c: f"!{cel.memory_limit(c)}.hasValue()",
        lambda c: "' has no memory limit: it can use all of the node\\'s memory and get other "
                  "pods OOM-killed or evicted'"))


def oom102(v: View, params: Mapping[str, Any]) -> str:
    covered = (f"{v.pod('resources', 'requests', 'memory')}.hasValue() || "
               f"{v.pod('resources', 'limits', 'memory')}.hasValue()")
    return f"{covered} ? [] : " + per_container(
        v, lambda c: f"!{cel.request(c)}.hasValue()",
        lambda c: "' has no memory request and no memory limit to default it from: the "
                  "scheduler assumes it needs no memory'")


def _exceeds(request: str, limit: str) -> str:
    return (f"{cel.valid(request)} && {cel.valid(limit)} && "
            f"{cel.quantity(request)}.compareTo({cel.quantity(limit)}) > 0")


def oom103(v: View, params: Mapping[str, Any]) -> str:
    pod_request = v.pod("resources", "requests", "memory")
    pod_limit = v.pod("resources", "limits", "memory")
    return join(
        per_container(
            v, lambda c: _exceeds(cel.declared_request(c), cel.memory_limit(c)),
            lambda c: f"' requests ' + {q_text(cel.declared_request(c))} + ' but is limited to ' "
                      f"+ {q_text(cel.memory_limit(c))} + ': the API server rejects it'"),
        pod_level(_exceeds(pod_request, pod_limit),
                  f"'pod-level memory request ' + {q_text(pod_request)} + ' exceeds the "
                  f"pod-level limit ' + {q_text(pod_limit)} + ': the API server rejects it'"))


def ratio(max_ratio: Any) -> Fraction:
    """The policy's max-ratio as an exact fraction (OOM104 Params: Decimal(str(max-ratio)))."""
    return Fraction(Decimal(str(max_ratio)))


def oom104(v: View, params: Mapping[str, Any]) -> str:
    limit_over = ratio(params["max-ratio"])
    num, den = limit_over.numerator, limit_over.denominator

    # limit / request > num / den  <=>  limit * den > request * num  (exact: no division)
    def bad(c: str) -> str:
        lim, req = cel.memory_limit(c), cel.request(c)
        return (f"{cel.valid(lim)} && {cel.valid(req)} && [{cel.quantity(lim)}].exists(l, "
                f"l.sign() > 0 && [{cel.quantity(req)}].exists(r, r.sign() <= 0 || "
                f"{cel.times('l', den)}.isGreaterThan({cel.times('r', num)})))")

    shown = params["max-ratio"]
    return per_container(
        v, bad, lambda c: f"' memory limit ' + {q_text(cel.memory_limit(c))} + ' is more than "
                          f"{shown}x its request ' + {q_text(cel.request(c))} + ': the node can "
                          "be overcommitted by the difference for this container alone'")


def _quantities(v: View, check: Callable[[str], str], message: Callable[[str, str], str]
                ) -> str:
    """Findings for every memory quantity written in the pod spec for which ``check`` holds
    (PodModel.memory_quantities: container requests and limits, the pod-level ones, the
    overhead, and the sizeLimit of memory-backed emptyDirs)."""
    parts = []
    for kind in ("requests", "limits"):
        for containers, label in ((v.init, cel.init_label), (v.main, cel.main_label)):
            written = cel.optional("c", "resources", kind, "memory")
            value = cel.text(written)
            parts.append(f"{containers}.filter(c, {written}.hasValue() && {check(value)}).map("
                         f"c, {finding(cel.name('c'), message(value, label('c')))})")
    for path, where in ((("resources", "requests", "memory"), "'the pod-level memory request'"),
                        (("resources", "limits", "memory"), "'the pod-level memory limit'"),
                        (("overhead", "memory"), "'the pod overhead'")):
        pod_value = v.pod(*path)
        parts.append(pod_level(f"{pod_value}.hasValue() && {check(cel.text(pod_value))}",
                               message(cel.text(pod_value), where)))
    size = "v.emptyDir.sizeLimit"
    volume = "\"emptyDir '\" + v.?name.orValue('') + \"'\""
    parts.append(f"{v.spec}.?volumes.orValue([]).filter(v, v.?emptyDir.?medium.orValue('') == "
                 f"'Memory' && v.?emptyDir.?sizeLimit.hasValue() && {check(size)}).map(v, "
                 f"{finding(EMPTY, message(size, volume))})")
    return join(*parts)


def oom105(v: View, params: Mapping[str, Any]) -> str:
    return _quantities(
        v, lambda x: f"!isQuantity(string({x}))",
        lambda x, where: f"'memory quantity ' + string({x}) + ' of ' + {where} + ' is not a "
                         "Kubernetes quantity: the API server rejects it'")


def oom106(v: View, params: Mapping[str, Any]) -> str:
    def check(x: str) -> str:
        return (f"isQuantity(string({x})) && (string({x}).matches({cel.raw(SUB_BYTE)}) || "
                f"(string({x}).matches({cel.raw(NO_UNIT)}) && quantity(string({x})).sign() > 0"
                f" && quantity(string({x})).isLessThan(quantity('1Mi'))))")

    def message(x: str, where: str) -> str:
        return (f"'memory ' + string({x}) + ' of ' + {where} + (string({x}).matches("
                f"{cel.raw(SUB_BYTE)}) ? ' uses the milli, micro or nano suffix: a few bytes or "
                f"less; did you mean ' + string({x}).substring(0, string({x}).size() - 1) + "
                f"'Mi?' : ' has no unit: it is below 1Mi bytes; did you mean ' + string({x}) + "
                f"'Mi?')")

    return _quantities(v, check, message)


def _limit_beyond(v: View, comparison: str, bound: Any, positive_only: bool,
                  tail: str) -> str:
    """Findings of containers whose memory limit ``comparison``s (isLessThan or
    isGreaterThan) the quantity ``bound``; ``tail`` ends the message."""
    text = str(quantity_text(bound))
    lim = cel.memory_limit
    usable = cel.positive if positive_only else cel.valid
    return per_container(
        v, lambda c: f"{usable(lim(c))} && {cel.quantity(lim(c))}.{comparison}("
                     f"quantity({cel.string(text)}))",
        lambda c: f"' memory limit ' + {q_text(lim(c))} + {cel.string(tail.format(text))}")


def oom107(v: View, params: Mapping[str, Any]) -> str:
    return _limit_beyond(v, "isLessThan", params["min"], True,
                         " is below {}: it is OOM-killed at start")


def oom109(v: View, params: Mapping[str, Any]) -> str:
    return _limit_beyond(v, "isGreaterThan", params["max"], False, " is above the maximum {}")


def oom110(v: View, params: Mapping[str, Any]) -> str:
    return pod_level(f"({v.init} + {v.main}).size() > 0 && {best_effort(v)}",
                     "'the pod is BestEffort (no cpu or memory requests or limits): "
                     "oom_score_adj 1000, first to be OOM-killed and evicted'")


def _selection(v: View, params: Mapping[str, Any]) -> tuple[str, str] | None:
    """(CEL condition, CEL reason) of OOM111's pod selection; None when nothing is selected
    (policies.rules.oom111_qos_guaranteed_required._selected, in its order)."""
    if params.get("all"):
        return "true", "'every workload must be Guaranteed'"
    choices: list[tuple[str, str]] = []
    classes = list(params.get("priority-classes") or ())
    priority = f"{v.spec}.?priorityClassName.orValue('')"
    if classes:
        choices.append((f"({priority} != '' && {priority} in {cel.strings(classes)})",
                        f"'priority class ' + string({priority})"))
    namespaces = list(params.get("namespaces") or ())
    if namespaces:
        choices.append((f"request.namespace in {cel.strings(namespaces)}",
                        "'namespace ' + request.namespace"))
    selector = dict(params.get("selector") or {})
    if selector:
        labels = f"{v.tpl}.?metadata.?labels.orValue({{}})"
        match = " && ".join(f"({cel.string(k)} in {labels} && {labels}[{cel.string(k)}] == "
                            f"{cel.string(str(value))})" for k, value in selector.items())
        shown = ",".join(f"{k}={value}" for k, value in selector.items())
        choices.append((f"({match})", cel.string(f"labels {shown}")))
    if not choices:
        return None
    condition = " || ".join(c for c, _ in choices)
    reason = choices[-1][1]
    for c, r in reversed(choices[:-1]):
        reason = f"({c} ? {r} : {reason})"
    return condition, reason


def oom111(v: View, params: Mapping[str, Any]) -> str:
    selection = _selection(v, params)
    if selection is None:
        return "[]"
    condition, reason = selection
    qos = f"({best_effort(v)} ? 'BestEffort' : 'Burstable')"
    return pod_level(f"({condition}) && !{guaranteed(v)}",
                     f"'the pod is critical (' + {reason} + ') but its QoS class is ' + {qos} + "
                     "': set cpu and memory requests equal to limits on every container so it is "
                     "Guaranteed (oom_score_adj -997)'")


def oom112(v: View, params: Mapping[str, Any]) -> str:
    pod_resources = (f"{v.pod('resources', 'requests')}.orValue({{}}).size() > 0 || "
                     f"{v.pod('resources', 'limits')}.orValue({{}}).size() > 0")
    shaped = (f"!({pod_resources}) && {v.main}.size() > 0 && "
              f"{v.main}.all(c, {guaranteed_shape('c')})")
    findings = (f"{v.init}.filter(c, !{guaranteed_shape('c')}).map(c, "
                f"{finding(cel.name('c'), cel.init_label('c') + ' + ' + OOM112_MESSAGE)})")
    return f"({shaped}) ? {findings} : []"


def _holds_key(var: str, depth: int) -> str:
    """CEL: an ``oomScoreAdj`` key in the map or list ``var`` or below it, at most ``depth``
    levels down. The children of a map (its values) and of a list (its items) are walked as
    one list, so the text grows linearly with the depth (and its nesting stays within what
    parsers accept: cel-cpp's limit of 32 allows 12 levels)."""
    here = f"(type({var}) == map && 'oomScoreAdj' in {var})"
    if depth == 0:
        return here
    key, child = f"k{depth}", f"x{depth}"
    children = (f"(type({var}) == map ? {var}.map({key}, {var}[{key}]) : "
                f"(type({var}) == list ? {var} : []))")
    return f"({here} || {children}.exists({child}, {_holds_key(child, depth - 1)}))"


def oom113(v: View, params: Mapping[str, Any]) -> str:
    # a container lies two levels below the spec (spec.containers[i])
    def bad(c: str) -> str:
        return _holds_key(c, SEARCH_DEPTH - 2)

    message = ("' sets oomScoreAdj, which is not a Kubernetes field: it is dropped and protects "
               "nothing; the kill order follows the QoS class'")
    label = "\"ephemeral container '\" + " + cel.name("c") + " + \"'\" + "
    parts = []
    groups: list[tuple[str, str, Callable[[str], str]]] = [
        ("init", v.init, lambda c: cel.init_label(c) + " + "),
        ("main", v.main, lambda c: cel.main_label(c) + " + "),
        ("ephemeral", f"{v.spec}.?ephemeralContainers.orValue([])", lambda c: label)]
    for name, containers, labelled in groups:
        # one variable per search: nested comprehensions are limited in depth
        found = finding(cel.name("c"), labelled("c") + message)
        parts.append(v.define(f"oom113_{name}",
                              f"{containers}.filter(c, {bad('c')}).map(c, {found})"))
    below = _holds_key("x", SEARCH_DEPTH - 1)
    elsewhere = v.define("oom113_pod", f"'oomScoreAdj' in {v.spec} || {v.spec}.exists(k, "
                                       f"!(k in {cel.strings(CONTAINER_LISTS)}) && "
                                       f"[{v.spec}[k]].exists(x, {below}))")
    parts.append(pod_level(elsewhere, "'the pod spec sets oomScoreAdj, which is not a Kubernetes "
                                      "field: it is dropped and protects nothing; the kill order "
                                      "follows the QoS class'"))
    return join(*parts)


def oom120(v: View, params: Mapping[str, Any]) -> str:
    return (f"{v.spec}.?volumes.orValue([]).filter(v, v.?emptyDir.?medium.orValue('') == "
            f"'Memory' && !v.?emptyDir.?sizeLimit.hasValue()).map(v, "
            + finding(EMPTY, "\"emptyDir '\" + v.?name.orValue('') + \"' is tmpfs (medium: "
                            "Memory) without sizeLimit: what is written there counts against "
                            "the memory limit until the container is OOM-killed\"") + ")")


Builder = Callable[[View, Mapping[str, Any]], str]
BUILDERS: dict[str, Builder] = {
    "OOM101": oom101, "OOM102": oom102, "OOM103": oom103, "OOM104": oom104,
    "OOM105": oom105, "OOM106": oom106, "OOM107": oom107, "OOM109": oom109,
    "OOM110": oom110, "OOM111": oom111, "OOM112": oom112, "OOM113": oom113,
    "OOM120": oom120,
}
