"""Normalize every pod-bearing object into one typed pod-spec model.

Rules never look at raw manifests; they look at :class:`PodModel`. It records, for each
container, the memory and cpu requests and limits as written and as they will be once the
API server has defaulted them (a limit without a request becomes the request, see
``SetDefaults_Pod`` in pkg/apis/core/v1/defaults.go) and once a LimitRange of the namespace
has filled what is missing (plugin/pkg/admission/limitranger/admission.go).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from oomguard.policies.budget import Deadline
from oomguard.policies.ignores import IGNORE_ANNOTATION, annotation_suppressions
from oomguard.policies.positions import Map, Seq, locate
from oomguard.policies.quantity import CACHED_TEXT, QuantityError, parse_quantity
from oomguard.policies.rule import ObjectRef, Path, Scope, Suppression, format_path
from oomguard.policies.workload.facts import QOS_RESOURCES, pod_facts, pod_shares, qos_class
from oomguard.policies.workload.runtime_heap import HeapSetting, heap_settings

if TYPE_CHECKING:  # (limitrange reads LimitRange objects into this module's Quantity)
    from oomguard.policies.workload.limitrange import ContainerDefaults

# Features of a pod spec a rule may declare it needs (``REQUIRES`` in its module): the engine
# runs the rule only on models that have it. Each one is implied by every violation of the
# rules that declare it, so skipping changes no result (tests/test_rule_requires.py proves
# it over the corpus); most workloads lack most of them, and every rule run costs.
MEMORY_LIMIT = "memory-limit"  # a container's effective memory limit, or a pod-level one
MEMORY_QUANTITY = "memory-quantity"  # any memory quantity written (PodModel.memory_quantities)
MEMORY_EMPTYDIR = "memory-emptydir"  # an emptyDir volume with medium Memory
INIT_CONTAINERS = "init-containers"  # an init container (sidecars included)
OOM_SCORE_ADJ_KEY = "oom-score-adj-key"  # an oomScoreAdj key somewhere in the spec
FEATURES = frozenset({MEMORY_LIMIT, MEMORY_QUANTITY, MEMORY_EMPTYDIR, INIT_CONTAINERS,
                      OOM_SCORE_ADJ_KEY})


class ModelError(ValueError):
    """The object cannot be modelled; ``path`` says where the problem is."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class RejectedObject(ModelError):
    """The API server rejects the object (a negative quantity, say), so it is not judged:
    a verdict read from a value that cannot exist (``memory: -1Gi`` taken for "no limit",
    BestEffort) would be wrong. ``problems`` holds each reason with its path."""

    def __init__(self, problems: list[tuple[str, Path]]) -> None:
        super().__init__(problems[0][0], problems[0][1])
        self.problems = problems


@dataclass(frozen=True, slots=True, eq=False)
class Quantity:
    """One resource quantity field. Immutable, so one object serves every model that has
    the same text at the same path (see :func:`_quantity`)."""

    raw: Any
    value: Decimal | None  # None when the text does not parse (OOM105 reports it)
    path: Path
    source: str = "manifest"  # "manifest", "limit" (API defaulting) or "LimitRange ns/name"
    error: str | None = None
    # the integer value as ``Quantity.Value()`` gives it (rounded up), or None; made once
    # here: converting a Decimal to an int and comparing it back costs more than a rule
    bytes: int | None = field(init=False, repr=False)
    # below zero, which the API server rejects: ValidateResourceQuantityValue and the
    # emptyDir sizeLimit check (pkg/apis/core/validation/validation.go, volumes.go) want >= 0
    negative: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        value, whole = self.value, None
        if value is not None:  # (at most 2^63-1 in magnitude: parse_quantity caps it)
            whole = int(value)
            if value > whole:
                whole += 1
        object.__setattr__(self, "bytes", whole)
        object.__setattr__(self, "negative", value is not None and value < 0)


@lru_cache(maxsize=4096)
def _manifest_quantity(raw: str, path: Path) -> Quantity:
    return _parsed(raw, path)


def _parsed(raw: Any, path: Path) -> Quantity:
    try:
        return Quantity(raw, parse_quantity(raw), path)
    except QuantityError as exc:
        return Quantity(raw, None, path, "manifest", str(exc))


def _quantity(raw: Any, path: Path) -> Quantity:
    """The quantity written at ``path``. Text quantities (nearly all) are made once per text
    and path: the same few recur in every object and every review (a long text is not kept:
    the cache must not hold megabytes)."""
    if type(raw) is str and len(raw) <= CACHED_TEXT:
        return _manifest_quantity(raw, path)
    try:
        return Quantity(raw, parse_quantity(raw), path)
    except QuantityError as exc:
        return Quantity(raw, None, path, "manifest", str(exc))


@lru_cache(maxsize=4096)
def defaulted_from_limit(limit: Quantity) -> Quantity:
    """The request the API server defaults from a limit (cached per limit object)."""
    return Quantity(limit.raw, limit.value, limit.path, "limit", limit.error)


@dataclass(slots=True)
class ExecCommand:
    """A command line a container runs: its command+args, a hook or an exec probe."""

    argv: list[str]
    path: Path


@dataclass(slots=True)
class EnvVar:
    name: str
    value: str | None
    path: Path


@dataclass(slots=True)
class Container:
    name: str
    kind: str  # "container", "init" or "ephemeral"
    index: int
    path: Path  # path of the container mapping inside the object
    sidecar: bool = False
    # as written in the manifest
    declared_requests: dict[str, Quantity] = field(default_factory=dict)
    declared_limits: dict[str, Quantity] = field(default_factory=dict)
    # after API defaulting and LimitRange defaults
    requests: dict[str, Quantity] = field(default_factory=dict)
    limits: dict[str, Quantity] = field(default_factory=dict)
    label: str = ""  # how messages name it: "container 'app'", "sidecar 'proxy'", ...
    # command and args joined by newlines: one substring search for a word that holds no
    # newline looks at every word at once, and cannot match across two of them
    command_text: str = ""
    exec_commands: list[ExecCommand] = field(default_factory=list)  # hooks and exec probes
    # the container mapping as written: command, args, env, hooks, probes and mounts are
    # read from it when a rule first asks (most reviews need few of them)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    resources_path: Path = ()
    # requests["memory"] and limits["memory"]: nearly every rule reads them, so they are
    # plain attributes, set by sync_memory() once build_pod_model has defaulted the dicts
    memory_request: Quantity | None = None
    memory_limit: Quantity | None = None
    # Derived data, computed on first use by this class only (the model is complete once
    # build_pod_model returns it, so nothing is ever reset):
    _heaps: list[HeapSetting] | None = field(default=None, init=False, repr=False,
                                             compare=False)
    _command: list[str] | None = field(default=None, init=False, repr=False, compare=False)
    _args: list[str] | None = field(default=None, init=False, repr=False, compare=False)
    _env: list[EnvVar] | None = field(default=None, init=False, repr=False, compare=False)
    _mounts: list[tuple[str, Path]] | None = field(default=None, init=False, repr=False,
                                                    compare=False)

    @property
    def command(self) -> list[str]:
        if self._command is None:
            self._command = _strings(self.raw.get("command"))
        return self._command

    @property
    def args(self) -> list[str]:
        if self._args is None:
            self._args = _strings(self.raw.get("args"))
        return self._args

    @property
    def env(self) -> list[EnvVar]:
        if self._env is None:
            self._env = _env_vars(self.raw.get("env"), self.path)
        return self._env

    @property
    def volume_mounts(self) -> list[tuple[str, Path]]:
        """(volume name, path of the mount) of each volume mount."""
        if self._mounts is None:
            self._mounts = _volume_mounts(self.raw.get("volumeMounts"), self.path)
        return self._mounts

    @property
    def heap_settings(self) -> list[HeapSetting]:
        """The effective runtime heap settings (policies.workload.runtime_heap)."""
        if self._heaps is None:
            self._heaps = heap_settings(self)
        return self._heaps

    def sets_env(self, names: frozenset[str]) -> bool:
        """Whether one of ``names`` is among the env vars (without building :attr:`env`)."""
        raw_env = self.raw.get("env")
        if not raw_env or not isinstance(raw_env, list):
            return False
        for item in raw_env:
            if isinstance(item, dict):
                name = item.get("name")
                if name is not None and str(name) in names:
                    return True
        return False

    def sync_memory(self) -> None:
        """Refresh ``memory_request``/``memory_limit`` after ``requests``/``limits`` changed."""
        self.memory_request = self.requests.get("memory")
        self.memory_limit = self.limits.get("memory")


@dataclass(slots=True)
class Volume:
    name: str
    path: Path
    emptydir_medium: str | None = None
    size_limit: Quantity | None = None


@dataclass(slots=True)
class PodModel:
    """A pod spec with everything the workload rules read."""

    ref: ObjectRef
    file: str | None
    root: Mapping[str, Any]
    spec_path: Path  # path of the pod spec
    template_path: Path | None  # path of the pod template (None for a Pod)
    containers: list[Container]
    volumes: list[Volume]
    pod_requests: dict[str, Quantity]
    pod_limits: dict[str, Quantity]
    overhead: dict[str, Quantity]
    priority_class: str | None
    # as written (not copied: annotations can hold whole last-applied manifests)
    labels: Mapping[str, Any]
    annotations: Mapping[str, Any]
    template_labels: Mapping[str, Any]
    template_annotations: Mapping[str, Any]
    oom_score_adj_paths: list[Path]  # where a (non-existent) oomScoreAdj field is set
    problems: list[tuple[str, Path]] = field(default_factory=list)
    scope: Scope = Scope.WORKLOAD
    # Derived data, computed on first use by this class only (see Container._heaps)
    _qos: str | None = field(default=None, init=False, repr=False, compare=False)
    _shares: tuple[int, int | None] | None = field(default=None, init=False, repr=False,
                                                   compare=False)
    _quantities: list[tuple[Quantity, Container | None]] | None = field(
        default=None, init=False, repr=False, compare=False)
    _features: frozenset[str] | None = field(default=None, init=False, repr=False,
                                             compare=False)
    # the containers by group, made once here: every rule walks one of them
    # (resource_containers: regular, init and sidecar, not ephemeral, which have no resources)
    resource_containers: list[Container] = field(init=False, repr=False, compare=False)
    regular: list[Container] = field(init=False, repr=False, compare=False)
    init: list[Container] = field(init=False, repr=False, compare=False)

    # whether the object came with source positions (the linter's Map/Seq, not JSON)
    positional: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.positional = isinstance(self.root, (Map, Seq))
        self.resource_containers, self.regular, self.init = [], [], []
        for container in self.containers:  # (one loop, not three comprehensions)
            kind = container.kind
            if kind != "ephemeral":
                self.resource_containers.append(container)
                (self.regular if kind == "container" else self.init).append(container)

    @property
    def namespace(self) -> str | None:
        return self.ref.namespace

    @property
    def qos(self) -> str:
        """The pod's QoS class (policies.workload.facts.qos_class; OOM110, 111, 112, 115 and
        the facts read it)."""
        if self._qos is None:
            self._qos = qos_class(self)
        return self._qos

    @property
    def shares(self) -> tuple[int, int | None]:
        """What every container's oom_score_adj shares (policies.workload.facts.pod_shares)."""
        if self._shares is None:
            self._shares = pod_shares(self)
        return self._shares

    def memory_quantities(self) -> list[tuple[Quantity, Container | None]]:
        """Every memory quantity written in the pod spec, with its container when it has
        one. (Made once per model: OOM105, OOM106 and :meth:`features` read it.)"""
        if self._quantities is not None:
            return self._quantities
        found: list[tuple[Quantity, Container | None]] = []
        for container in self.resource_containers:
            for resources in (container.declared_requests, container.declared_limits):
                quantity = resources.get("memory")
                if quantity is not None:
                    found.append((quantity, container))
        for resources in (self.pod_requests, self.pod_limits, self.overhead):
            quantity = resources.get("memory")
            if quantity is not None and quantity.source == "manifest":
                found.append((quantity, None))
        for volume in self.volumes:
            if volume.size_limit is not None and volume.emptydir_medium == "Memory":
                found.append((volume.size_limit, None))
        self._quantities = found
        return found

    def features(self) -> frozenset[str]:
        """Which of :data:`FEATURES` the spec has, once defaulted."""
        found = self._features
        if found is None:  # (plain loops, not any() over generators: this runs per model)
            limited = "memory" in self.pod_limits
            for container in self.resource_containers:
                if container.memory_limit is not None:
                    limited = True
                    break
            tmpfs = False
            for volume in self.volumes:
                if volume.emptydir_medium == "Memory":
                    tmpfs = True
                    break
            have = [feature for feature, present in (
                (MEMORY_LIMIT, limited), (MEMORY_QUANTITY, bool(self.memory_quantities())),
                (MEMORY_EMPTYDIR, tmpfs), (INIT_CONTAINERS, bool(self.init)),
                (OOM_SCORE_ADJ_KEY, bool(self.oom_score_adj_paths))) if present]
            found = self._features = frozenset(have)
        return found

    # -- Subject protocol -------------------------------------------------------------
    def facts_for(self, node_memory: Decimal | None) -> dict[str, Any]:
        return pod_facts(self, node_memory)

    def locate(self, path: Path) -> tuple[int, int] | None:
        if not self.positional:  # parsed JSON (the webhook): no positions
            return None
        return locate(self.root, path)

    def suppressions(self) -> list[Suppression]:
        if IGNORE_ANNOTATION not in self.annotations and \
                IGNORE_ANNOTATION not in self.template_annotations:
            return []  # the common case
        found = annotation_suppressions(self.annotations)
        if self.template_path is not None:
            found += annotation_suppressions(self.template_annotations,
                                             (*self.template_path, "metadata"))
        return found


def get_path(root: Any, path: Path) -> Any:
    node = root
    for part in path:
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def as_mapping(value: Any) -> Mapping[str, Any]:
    """The value if it is a mapping, else an empty one (malformed input is not our crash)."""
    return value if isinstance(value, dict) else {}


def _resource_list(value: Any, path: Path) -> dict[str, Quantity]:
    if not value or not isinstance(value, dict):
        return {}
    return {str(name): _quantity(raw, (*path, str(name))) for name, raw in value.items()}


def _strings(value: Any) -> list[str]:
    if value and isinstance(value, list):
        return ["" if v is None else str(v) for v in value]
    return []


def _env_vars(raw_env: Any, path: Path) -> list[EnvVar]:
    env: list[EnvVar] = []
    if raw_env and isinstance(raw_env, list):
        for i, item in enumerate(raw_env):
            if isinstance(item, dict) and item.get("name") is not None:
                value = item.get("value")
                env.append(EnvVar(str(item["name"]), None if value is None else str(value),
                                  (*path, "env", i)))
    return env


def _volume_mounts(raw_mounts: Any, path: Path) -> list[tuple[str, Path]]:
    mounts: list[tuple[str, Path]] = []
    if raw_mounts and isinstance(raw_mounts, list):
        for i, item in enumerate(raw_mounts):
            if isinstance(item, dict) and item.get("name") is not None:
                mounts.append((str(item["name"]), (*path, "volumeMounts", i)))
    return mounts


_EXEC_KEYS = frozenset({"lifecycle", "livenessProbe", "readinessProbe", "startupProbe"})


def _exec_commands(raw: Mapping[str, Any], path: Path) -> list[ExecCommand]:
    found: list[ExecCommand] = []
    lifecycle = raw.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            handler = lifecycle.get(hook)
            if isinstance(handler, dict) and isinstance(handler.get("exec"), dict):
                found.append(ExecCommand(_strings(handler["exec"].get("command")),
                                         (*path, "lifecycle", hook, "exec", "command")))
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        handler = raw.get(probe)
        if isinstance(handler, dict) and isinstance(handler.get("exec"), dict):
            found.append(ExecCommand(_strings(handler["exec"].get("command")),
                                     (*path, probe, "exec", "command")))
    return found


def _container(raw: Any, kind: str, index: int, path: Path) -> Container:
    if not isinstance(raw, dict):
        raise ModelError(f"a container must be a mapping, not {type(raw).__name__}", path)
    name = raw.get("name")
    resources = raw.get("resources")
    res_path = (*path, "resources")
    if resources is not None and not isinstance(resources, dict):
        raise ModelError("resources must be a mapping", res_path)
    resources = resources or {}
    requests, limits = resources.get("requests"), resources.get("limits")
    command, args = raw.get("command"), raw.get("args")
    name = str(name) if name is not None else f"#{index}"
    sidecar = kind == "init" and raw.get("restartPolicy") == "Always"
    role = "sidecar" if sidecar else "init container" if kind == "init" else "container"
    return Container(
        name=name, kind=kind, index=index, path=path, sidecar=sidecar,
        label=f"{role} {name!r}",
        command_text="\n".join(_strings(command) + _strings(args)) if command or args else "",
        exec_commands=[] if _EXEC_KEYS.isdisjoint(raw) else _exec_commands(raw, path),
        declared_requests=_resource_list(requests, (*res_path, "requests")) if requests else {},
        declared_limits=_resource_list(limits, (*res_path, "limits")) if limits else {},
        raw=raw, resources_path=res_path,
    )


def _volumes(raw: Any, path: Path) -> list[Volume]:
    volumes: list[Volume] = []
    if not isinstance(raw, list):
        return volumes
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            continue
        vpath = (*path, i)
        empty = item.get("emptyDir")
        volume = Volume(str(item.get("name")), vpath)
        if isinstance(empty, dict):
            medium = empty.get("medium")
            volume.emptydir_medium = None if medium is None else str(medium)
            if empty.get("sizeLimit") is not None:
                volume.size_limit = _quantity(empty["sizeLimit"], (*vpath, "emptyDir", "sizeLimit"))
        volumes.append(volume)
    return volumes


def _find_key(node: Any, key: str, path: Path, found: list[Path]) -> None:
    """Every path to ``key`` under ``node`` (iterative: this runs on every object)."""
    stack: list[tuple[Any, Path]] = [(node, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, dict):
            for k, v in current.items():
                if k == key:
                    found.append((*where, k))
                if isinstance(v, (dict, list)):
                    stack.append((v, (*where, str(k))))
        else:
            for i, v in enumerate(current):
                if isinstance(v, (dict, list)):
                    stack.append((v, (*where, i)))
    found.sort()


def object_ref(obj: Mapping[str, Any]) -> ObjectRef:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):  # a dict, or the linter's positional Map
        meta = {}
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    namespace, name = meta.get("namespace"), meta.get("name")
    # (every object of a review or a file gets one: the conversions are spelled out)
    return ObjectRef(
        api_version=api_version if api_version is None or type(api_version) is str
        else str(api_version),
        kind=kind if kind is None or type(kind) is str else str(kind),
        namespace=namespace if namespace is None or type(namespace) is str else str(namespace),
        name=name if name is None or type(name) is str else str(name))


_CONTAINER_KEYS = (("initContainers", "init"), ("containers", "container"),
                   ("ephemeralContainers", "ephemeral"))


def build_pod_model(obj: Mapping[str, Any], template_path: Path | None,
                    file: str | None = None, may_hold_oom_score_adj: bool = True,
                    limit_ranges: Sequence[ContainerDefaults] = (),
                    deadline: Deadline | None = None) -> PodModel:
    """Model one pod-bearing object, defaulted by the API server and by the LimitRanges of
    its namespace among ``limit_ranges``; raises ModelError when it has no usable pod spec.

    ``may_hold_oom_score_adj`` False (the text it came from lacks the word) skips the scan
    of the whole spec for that key.
    """
    ref = object_ref(obj)
    # (this runs for every object judged: the lookups are spelled out, not helper calls)
    template: Any = obj
    if template_path is not None:
        for part in template_path:
            template = template.get(part) if isinstance(template, dict) else None
        spec_path: Path = (*template_path, "spec")
    else:
        spec_path = ("spec",)
    spec = template.get("spec") if isinstance(template, dict) else None
    if spec is None:
        missing = next((spec_path[:i] for i in range(1, len(spec_path) + 1)
                        if get_path(obj, spec_path[:i]) is None), spec_path)
        raise ModelError(f"{ref.kind} has no {'.'.join(map(str, missing))}", missing[:-1])
    if not isinstance(spec, dict):
        raise ModelError("the pod spec must be a mapping", spec_path)
    containers: list[Container] = []
    problems: list[tuple[str, Path]] = []
    for key, kind in _CONTAINER_KEYS:
        raw_list = spec.get(key)
        if raw_list is None:
            continue
        if not isinstance(raw_list, list):
            problems.append((f"{key} must be a list", (*spec_path, key)))
            continue
        for i, raw in enumerate(raw_list):
            if deadline is not None and not i & 255:  # (every 256 containers)
                deadline.check()
            try:
                containers.append(_container(raw, kind, i, (*spec_path, key, i)))
            except ModelError as exc:
                problems.append((str(exc), exc.path))
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    tmeta = template.get("metadata") if template_path is not None else None
    if not isinstance(tmeta, dict):
        tmeta = {}
    pod_resources = spec.get("resources")
    pod_requests = pod_limits = None
    if pod_resources and isinstance(pod_resources, dict):
        pod_requests, pod_limits = pod_resources.get("requests"), pod_resources.get("limits")
    overhead, volumes = spec.get("overhead"), spec.get("volumes")
    labels, annotations = meta.get("labels"), meta.get("annotations")
    template_labels, template_annotations = tmeta.get("labels"), tmeta.get("annotations")
    oom_paths: list[Path] = []
    if may_hold_oom_score_adj:
        _find_key(spec, "oomScoreAdj", spec_path, oom_paths)
    model = PodModel(
        ref=ref, file=file, root=obj, spec_path=spec_path, template_path=template_path,
        containers=containers,
        volumes=_volumes(volumes, (*spec_path, "volumes")) if volumes else [],
        pod_requests=_resource_list(pod_requests, (*spec_path, "resources", "requests"))
        if pod_requests else {},
        pod_limits=_resource_list(pod_limits, (*spec_path, "resources", "limits"))
        if pod_limits else {},
        overhead=_resource_list(overhead, (*spec_path, "overhead")) if overhead else {},
        priority_class=(str(spec["priorityClassName"]) if spec.get("priorityClassName")
                        else None),
        labels=labels if isinstance(labels, dict) else {},
        annotations=annotations if isinstance(annotations, dict) else {},
        template_labels=template_labels if isinstance(template_labels, dict) else {},
        template_annotations=template_annotations
        if isinstance(template_annotations, dict) else {},
        oom_score_adj_paths=oom_paths, problems=problems,
    )
    rejected = _negative_quantities(model)
    if rejected:
        raise RejectedObject(rejected)
    apply_pod_defaults(model)
    if limit_ranges:
        apply_limit_ranges(model, limit_ranges)
    return model


def _shown(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."


def _negative_quantities(model: PodModel) -> list[tuple[str, Path]]:
    """Every quantity of the spec the API server rejects for being negative (any resource:
    requests, limits, pod-level resources, overhead, emptyDir sizeLimit)."""
    found: list[Quantity] = []
    for container in model.containers:  # (loops spelled out: this runs for every object)
        for resources in (container.declared_requests, container.declared_limits):
            for quantity in resources.values():
                if quantity.negative:
                    found.append(quantity)
    for resources in (model.pod_requests, model.pod_limits, model.overhead):
        for quantity in resources.values():
            if quantity.negative:
                found.append(quantity)
    for volume in model.volumes:
        if volume.size_limit is not None and volume.size_limit.negative:
            found.append(volume.size_limit)
    return [(f"{format_path(q.path)}: {_shown(q.raw)} must be greater than or equal to 0 (the API "
             "server rejects a negative quantity)", q.path) for q in found]


def apply_pod_defaults(model: PodModel) -> None:
    """API defaulting: a limit without a request becomes the request.

    SetDefaults_Pod (pkg/apis/core/v1/defaults.go) does it for containers and init
    containers of Pods; ReplicaSet & co. create Pods that get it, so templates get it too.
    Pod-level resources are defaulted the same way (SetDefaults_PodSpec, PodLevelResources).
    """
    for container in model.resource_containers:
        declared = container.declared_limits
        container.limits = dict(declared)
        container.requests = requests = dict(container.declared_requests)
        for name, limit in declared.items() if declared else ():
            if name not in requests:
                requests[name] = defaulted_from_limit(limit)
        container.sync_memory()
    if model.pod_limits:
        for name, limit in model.pod_limits.items():
            if name in QOS_RESOURCES and name not in model.pod_requests:
                model.pod_requests[name] = defaulted_from_limit(limit)


def apply_limit_ranges(model: PodModel, defaults: Sequence[ContainerDefaults]) -> None:
    """Fill missing cpu/memory limits and requests of the containers from the LimitRanges
    of the model's namespace, as the LimitRanger admission plugin does
    (plugin/pkg/admission/limitranger/admission.go, mergeContainerResources). Part of
    building the model: nothing has read a derived value yet."""
    for lr in defaults:
        if lr.namespace != model.namespace:
            continue
        for container in model.resource_containers:
            for name in QOS_RESOURCES:
                if name not in container.limits and name in lr.limits:
                    value = lr.limits[name]
                    container.limits[name] = Quantity(value.raw, value.value,
                                                      container.resources_path, lr.label)
                if name not in container.requests and name in lr.requests:
                    value = lr.requests[name]
                    container.requests[name] = Quantity(value.raw, value.value,
                                                        container.resources_path, lr.label)
            container.sync_memory()
