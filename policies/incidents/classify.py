"""The diagnosis: a snapshot's objects and kernel OOM records in, incidents out.

Pure: no I/O. :class:`Diagnoser` is an accumulator so a live cluster can be streamed: feed it
nodes, events, kernel logs and owners first, then pods one at a time (each pod is judged and
dropped unless it holds an incident), then call :meth:`Diagnoser.finish`.

Evidence ranks: a kernel OOM record of the container outranks the pod status (a Burstable
container with a limit can still die in a global OOM, and the runtime reports OOMKilled
either way); a kubelet message outranks an inference from the spec.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from oomguard.policies.incidents import explain
from oomguard.policies.incidents import model as m
from oomguard.policies.incidents.cgroups import (
    CONTAINER,
    KUBEPODS,
    OTHER,
    POD,
    QOS,
    ROOT,
    parse_cgroup,
)
from oomguard.policies.incidents.events import EventRecord, normalize_event, parse_time
from oomguard.policies.incidents.kernel import KernelLog, OOMKill
from oomguard.policies.incidents.kubelet import (
    admission_conditions,
    eviction_from_annotations,
    insufficient_memory,
    out_of_memory_admission,
    parse_eviction,
    quantity_bytes,
    system_oom,
)
from oomguard.policies.incidents.pods import (
    TERMINAL_PHASES,
    ContainerSpec,
    Termination,
    condition,
    container_ids,
    container_specs,
    mapping,
    pod_requests_and_limits,
    terminations,
    text,
)

# how far apart a container's termination and a node-wide record (SystemOOM event, kernel
# line) may be to be the same incident: kubelet, runtime and kernel stamp within seconds
NEAR = timedelta(seconds=120)
OwnerLookup = Callable[[str, str, str, str], "Mapping[str, Any] | None"]
# pkg/controller/deployment/sync.go names a ReplicaSet "<deployment>-<pod-template-hash>";
# generateName adds 5 characters of k8s.io/apimachinery/pkg/util/rand's alphabet to a pod
_SAFE = "bcdfghjklmnpqrstvwxz2456789"
_RS_POD = re.compile(rf"^(.+)-([{_SAFE}]{{6,10}})-([{_SAFE}]{{5}})$")
_LIVENESS = re.compile(r"(Liveness|Startup) probe failed|failed (liveness|startup) probe")
_WORKLOAD_CHAIN = {"ReplicaSet", "Job", "ReplicationController"}


class PodVerdict(NamedTuple):
    incidents: list[m.Incident]
    owner_object: Mapping[str, Any] | None  # the topmost owner read (None: none known)


@dataclass
class _PodFacts:
    """What the incidents of one pod need from it (the object itself is kept only for them)."""

    obj: Mapping[str, Any]
    namespace: str | None
    name: str | None
    uid: str | None
    node: str | None
    source: str
    specs: dict[str, ContainerSpec] = field(default_factory=dict)


class Diagnoser:
    def __init__(self, *, since: datetime | None = None,
                 owner_lookup: OwnerLookup | None = None) -> None:
        self.since = since
        self.owner_lookup = owner_lookup
        self.nodes: dict[str, m.NodeSummary] = {}
        self.owners: dict[tuple[str, str, str], Mapping[str, Any]] = {}
        self.limit_ranges: list[Mapping[str, Any]] = []
        self.incidents: list[m.Incident] = []
        self.errors: list[m.Problem] = []
        self.notices: list[m.Problem] = []
        self._events_by_name: dict[tuple[str | None, str | None], list[EventRecord]] = {}
        self._node_events: dict[str, list[EventRecord]] = {}
        self._seen_events: set[str] = set()
        self._used_events: set[int] = set()
        self._kills: list[OOMKill] = []
        self._kills_by_cid: dict[str, list[OOMKill]] = {}
        self._kills_by_uid: dict[str, list[OOMKill]] = {}
        self._used_kills: set[int] = set()
        self.pod_count = 0

    # -- input ------------------------------------------------------------------------------
    def add_node(self, obj: Mapping[str, Any]) -> None:
        meta, status = mapping(obj.get("metadata")), mapping(obj.get("status"))
        name = text(meta.get("name"))
        if name is None:
            return
        node = self._node(name)
        node.known = True
        node.capacity = quantity_bytes(_str(mapping(status.get("capacity")).get("memory")))
        node.allocatable = quantity_bytes(_str(mapping(status.get("allocatable")).get("memory")))
        pressure = condition(status, "MemoryPressure")
        if pressure:
            node.memory_pressure = pressure.get("status") == "True"

    def _node(self, name: str) -> m.NodeSummary:
        node = self.nodes.get(name)
        if node is None:
            node = self.nodes[name] = m.NodeSummary(name, known=False)
        return node

    def add_limit_range(self, obj: Mapping[str, Any]) -> None:
        self.limit_ranges.append(obj)

    def add_owner(self, obj: Mapping[str, Any]) -> None:
        meta = mapping(obj.get("metadata"))
        kind, name = text(obj.get("kind")), text(meta.get("name"))
        if kind and name:
            self.owners[(kind, text(meta.get("namespace")) or "", name)] = _trim(obj)

    def add_event(self, obj: Mapping[str, Any], source: str = "") -> None:
        record = normalize_event(obj, source)
        if record is None:
            return
        key = record.uid or f"{record.namespace}/{record.name}/{record.reason}/{record.last}"
        if key in self._seen_events:  # the same event read through both APIs
            return
        self._seen_events.add(key)
        if self.since and record.last and record.last < self.since:
            return
        if record.kind == "Node" or record.reason in ("SystemOOM", "OOMKilling"):
            if record.host:
                self._node_events.setdefault(record.host, []).append(record)
            return
        if record.kind not in (None, "Pod"):
            return
        self._events_by_name.setdefault((record.object_namespace, record.object_name),
                                        []).append(record)

    def add_kernel_log(self, log: KernelLog, node: str | None = None) -> None:
        for line, message in log.notices:
            self.notices.append(m.Problem(log.file, message, line))
        for kill in log.kills:
            kill.host = kill.host or node
            if self.since and kill.time and kill.time < self.since:
                continue
            self._kills.append(kill)
            ref = parse_cgroup(kill.task_memcg or "")
            if ref.container_id:
                self._kills_by_cid.setdefault(ref.container_id, []).append(kill)
            if ref.pod_uid:
                self._kills_by_uid.setdefault(ref.pod_uid, []).append(kill)

    # -- pods -------------------------------------------------------------------------------
    def add_pod(self, obj: Mapping[str, Any], source: str = "") -> PodVerdict:
        """Judge one pod now (nodes, owners, events and kernel logs must have been added
        before): its incidents, owner resolved, and the topmost owner object found. The pod
        itself is not kept (a cluster's worth of them would be): what else an incident needs
        of it, take it now."""
        self.pod_count += 1
        meta, spec = mapping(obj.get("metadata")), mapping(obj.get("spec"))
        status = mapping(obj.get("status"))
        namespace, name, uid = text(meta.get("namespace")), text(meta.get("name")), \
            text(meta.get("uid"))
        node = text(spec.get("nodeName"))
        phase = text(status.get("phase"))
        if node is not None and phase not in TERMINAL_PHASES:
            summary = self._node(node)
            request, limit = pod_requests_and_limits(spec)
            summary.requested += request
            summary.limits += limit
        events = self._pod_events(namespace, name, uid)
        kills = self._kills_by_uid.get(uid or "", [])
        suspicious = (events or kills or status.get("reason") or phase == "Pending"
                      or _has_kill(status) or condition(status, "DisruptionTarget"))
        if not suspicious:
            return PodVerdict([], None)
        if not status:
            self.notices.append(m.Problem(source, f"Pod {namespace}/{name} has no status: "
                                                  "judged from its events only"))
        pod = _PodFacts(obj, namespace, name, uid, node, source,
                        {c.name: c for c in container_specs(spec)})
        found: list[m.Incident] = []
        found.extend(self._pod_level(pod, status, events))
        found.extend(self._containers(pod, status, events, kills))
        merged = self._merge(found)
        owner, owner_object = self.top_owner(obj) if merged else (None, None)
        for incident in merged:
            incident.owner = owner
        self.incidents.extend(merged)
        return PodVerdict(merged, owner_object)

    def _pod_events(self, namespace: str | None, name: str | None,
                    uid: str | None) -> list[EventRecord]:
        """Events about this pod instance: by UID when the event names one (a StatefulSet's
        new pod has the old one's name), else by name."""
        out = []
        for record in self._events_by_name.get((namespace, name), []):
            if record.object_uid and uid and record.object_uid != uid:
                continue
            if id(record) not in self._used_events:
                self._used_events.add(id(record))
                out.append(record)
        return out

    def _pod_level(self, pod: _PodFacts, status: Mapping[str, Any],
                   events: list[EventRecord]) -> list[m.Incident]:
        out: list[m.Incident] = []
        reason, message = text(status.get("reason")), text(status.get("message")) or ""
        label = f"Pod {pod.namespace}/{pod.name}"
        disruption = condition(status, "DisruptionTarget")
        evicted_events = [e for e in events if e.reason == "Evicted"]
        eviction = parse_eviction(message) if reason == "Evicted" else None
        admission = admission_conditions(message) if reason == "Evicted" else None
        if reason == "OutOfmemory" or (admission and "MemoryPressure" in admission):
            evidence = [m.Evidence(f"{label} status.reason", reason or ""),
                        m.Evidence(f"{label} status.message", message.strip())]
            incident = self._incident(m.ADMISSION_REJECTED, pod, _latest(events, status),
                                      "the kubelet refused to start the pod: the node "
                                      + ("had MemoryPressure" if admission else
                                         "did not have enough memory"), evidence)
            rejected = out_of_memory_admission(message)
            if rejected:
                incident.evidence.append(m.Evidence(
                    "kubelet admission", f"requested {explain.size(rejected[0])}, used "
                    f"{explain.size(rejected[1])}, capacity {explain.size(rejected[2])}"))
            out.append(incident)
        elif (eviction and eviction.is_memory) or (
                disruption.get("reason") == "TerminationByKubelet"
                and "memory" in str(disruption.get("message") or "")) or any(
                _memory_eviction(e) for e in evicted_events):
            out.append(self._eviction(pod, status, message, evicted_events, label))
        else:
            for record in evicted_events:  # admission refusals come as Evicted events too
                conditions = admission_conditions(record.message)
                if conditions and "MemoryPressure" in conditions:
                    out.append(self._incident(
                        m.ADMISSION_REJECTED, pod, record.last,
                        "the kubelet refused to start the pod: the node had MemoryPressure",
                        [_event_evidence(record)], count=record.count))
                    break
        if not mapping(pod.obj.get("spec")).get("nodeName"):
            sched = condition(status, "PodScheduled")
            sched_message = str(sched.get("message") or "")
            failed = [e for e in events if e.reason == "FailedScheduling"
                      and insufficient_memory(e.message)]
            if (sched.get("reason") == "Unschedulable" and insufficient_memory(sched_message)) \
                    or failed:
                evidence = []
                if sched_message:
                    evidence.append(m.Evidence(f"{label} status.conditions[PodScheduled]",
                                               sched_message))
                evidence.extend(_event_evidence(e) for e in failed[-1:])
                moment = (failed[-1].last if failed else None) or parse_time(
                    sched.get("lastTransitionTime"))
                counts = insufficient_memory(failed[-1].message if failed else sched_message)
                short = f"{counts[0]} of {counts[1]} nodes" if counts and counts[0] and \
                    counts[1] else "the nodes"
                out.append(self._incident(
                    m.UNSCHEDULABLE, pod, moment,
                    f"the pod stays Pending: {short} lack the unrequested memory for its "
                    "memory request", evidence, count=sum(e.count for e in failed) or 1))
        return out

    def _eviction(self, pod: _PodFacts, status: Mapping[str, Any], message: str,
                  events: list[EventRecord], label: str) -> m.Incident:
        evidence = []
        if message:
            evidence.append(m.Evidence(f"{label} status.message", message.strip()))
        disruption = condition(status, "DisruptionTarget")
        if disruption:
            evidence.append(m.Evidence(f"{label} status.conditions[DisruptionTarget]",
                                       f"{disruption.get('reason')}: "
                                       f"{str(disruption.get('message') or '').strip()}"))
        evidence.extend(_event_evidence(e) for e in events[-1:])
        parsed = parse_eviction(message) or next(
            (p for p in (parse_eviction(e.message) for e in events) if p), None)
        moment = (events[-1].last if events else None) or parse_time(
            disruption.get("lastTransitionTime")) or _status_time(status)
        incident = self._incident(m.EVICTION, pod, moment, "", evidence,
                                  count=max((e.count for e in events), default=1))
        usage = {c.name: c for c in (parsed.containers if parsed else [])}
        for record in events:
            for extra in eviction_from_annotations(dict(record.annotations)):
                usage.setdefault(extra.name, extra)
        for container in incident.containers:
            offending = usage.get(container.name)
            if offending is not None:
                container.usage = offending.usage
                if container.request is None and offending.request is not None:
                    container.request = offending.request
        worst = max(usage.values(), key=lambda c: c.usage or 0, default=None)
        threshold = ""
        if parsed and parsed.threshold is not None:
            threshold = (f" (available {explain.size(parsed.available)} below the threshold "
                         f"{explain.size(parsed.threshold)})")
        if worst is not None and worst.usage is not None:
            incident.cause = (f"the kubelet evicted the pod under node memory pressure"
                              f"{threshold}: container {worst.name} used "
                              f"{explain.size(worst.usage)} against a request of "
                              f"{explain.size(worst.request)}")
        else:
            incident.cause = f"the kubelet evicted the pod under node memory pressure{threshold}"
        return incident

    def _containers(self, pod: _PodFacts, status: Mapping[str, Any],
                    events: list[EventRecord], kills: list[OOMKill]) -> list[m.Incident]:
        out: list[m.Incident] = []
        ids = container_ids(status)
        covered: set[int] = set()
        for term in terminations(status):
            finished = parse_time(term.finished_at)
            if self.since and finished and finished < self.since:
                continue
            cid = (term.container_id or "").rsplit("://", 1)[-1]
            matched = [k for k in self._kills_by_cid.get(cid, []) if id(k) not in covered] \
                if cid else []
            if not matched and kills and len(kills) and finished:
                matched = [k for k in kills if id(k) not in covered and k.time
                           and abs(k.time - finished) <= NEAR
                           and parse_cgroup(k.task_memcg or "").container_id not in ids]
            covered.update(id(k) for k in matched)
            out.append(self._termination(pod, term, finished, matched, events))
        # kernel kills of this pod no termination explains (a child process, an older
        # container instance): still incidents of the pod
        for kill in kills:
            if id(kill) in covered or id(kill) in self._used_kills:
                continue
            killed_id = parse_cgroup(kill.task_memcg or "").container_id
            killed, init = ids.get(killed_id or "", (None, False))
            out.append(self._from_kill(pod, kill, killed, init))
        for kill in kills:
            self._used_kills.add(id(kill))
        for kills_of in (self._kills_by_cid.get(c, []) for c in ids):
            for kill in kills_of:
                self._used_kills.add(id(kill))
        return out

    def _termination(self, pod: _PodFacts, term: Termination, finished: datetime | None,
                     kills: list[OOMKill], events: list[EventRecord]) -> m.Incident:
        label = f"Pod {pod.namespace}/{pod.name}"
        kind = "initContainerStatuses" if term.init else "containerStatuses"
        state = "state" if term.current else "lastState"
        evidence = [m.Evidence(f"{label} status.{kind}[{term.container}].{state}.terminated",
                               f"reason={term.reason} exitCode={term.exit_code}"
                               + (f" finishedAt={term.finished_at}" if term.finished_at else ""))]
        if term.waiting_reason:
            prefix = "Init:" if term.init else ""
            evidence.append(m.Evidence(f"{label} status.{kind}[{term.container}].state.waiting",
                                       f"{prefix}{term.waiting_reason} (restartCount "
                                       f"{term.restart_count})"))
        if kills:
            kill = max(kills, key=lambda k: (k.time.timestamp() if k.time else 0, k.line))
            incident = self._from_kill(pod, kill, term.container, term.init, evidence)
            incident.count = len(kills)
            incident.time = incident.time or finished
            return incident
        system = self._system_oom_near(pod.node, finished)
        spec = pod.specs.get(term.container)
        limit = spec.limit if spec else None
        pod_limit = _pod_limit(pod.obj)
        if system is not None:
            evidence.append(_event_evidence(system))
            incident = self._incident(m.SYSTEM_OOM, pod, finished or system.last,
                                      f"the kernel's global OOM killer killed container "
                                      f"{term.container}: node {pod.node} ran out of memory",
                                      evidence, containers=[term.container],
                                      confidence=m.LIKELY)
            return incident
        if term.reason == "OOMKilled":
            if limit is not None:
                return self._incident(
                    m.CONTAINER_LIMIT_OOM, pod, finished,
                    f"container {term.container} reached its memory limit of "
                    f"{explain.size(limit)} and the kernel killed it", evidence,
                    containers=[term.container], confidence=m.LIKELY)
            if pod_limit is not None:
                return self._incident(
                    m.POD_LIMIT_OOM, pod, finished,
                    f"the pod reached its pod-level memory limit of {explain.size(pod_limit)}"
                    f" and the kernel killed container {term.container}", evidence,
                    containers=[term.container], confidence=m.LIKELY)
            return self._incident(
                m.NODE_OOM, pod, finished,
                f"container {term.container} has no memory limit and was OOM-killed: the "
                f"node (or its pods cgroup) ran out of memory", evidence,
                containers=[term.container], confidence=m.LIKELY)
        probe = [e for e in events if (e.container in (None, term.container))
                 and _LIVENESS.search(e.message)]
        grace = [e for e in events if e.reason == "ExceededGracePeriod"]
        deleting = mapping(pod.obj.get("metadata")).get("deletionTimestamp")
        if probe:
            evidence.extend(_event_evidence(e) for e in probe[-2:])
            cause = (f"the kubelet killed container {term.container} after its "
                     f"{'startup' if 'tartup' in probe[-1].message else 'liveness'} probe "
                     "failed: SIGKILL, not an OOM")
            confidence = m.CERTAIN
        elif grace or deleting:
            evidence.extend(_event_evidence(e) for e in grace[-1:])
            cause = (f"container {term.container} did not stop within its termination grace "
                     "period and was SIGKILLed: not an OOM")
            confidence = m.LIKELY
        else:
            cause = (f"container {term.container} exited 137 (SIGKILL) with no OOM record: "
                     "a manual or external kill, or a kill the evidence does not show")
            confidence = m.POSSIBLE
        return self._incident(m.SIGKILL_NOT_OOM, pod, finished, cause, evidence,
                              containers=[term.container], confidence=confidence,
                              count=max([e.count for e in probe[-1:]], default=1))

    def _from_kill(self, pod: _PodFacts | None, kill: OOMKill, container: str | None,
                   init: bool, evidence: list[m.Evidence] | None = None) -> m.Incident:
        kind, cause = _kill_type(kill)
        evidence = list(evidence or [])
        for line in kill.lines[-3:]:
            if "oom-kill:" in line.text or "Killed process" in line.text or \
                    "killed as a result" in line.text or "memory: usage" in line.text:
                evidence.append(m.Evidence(f"kernel {kill.file}:{line.number}",
                                           line.text.strip()))
        process = f"{kill.task} (pid {kill.pid})" if kill.task and kill.pid else kill.task
        if container and process:
            victim = f"{process} in container {container}"
        else:
            victim = container or process or "a process"
        node = (pod.node if pod else None) or kill.host
        if kind == m.CONTAINER_LIMIT_OOM:
            cause = (f"container {container or '?'} reached its memory limit"
                     + (f" of {explain.size(kill.memcg_limit)}" if kill.memcg_limit else "")
                     + f" and the kernel killed {process or 'a process'}")
        elif kind == m.POD_LIMIT_OOM:
            cause = f"the pod reached its pod-level memory limit; the kernel killed {victim}"
        elif kind == m.NODE_ALLOCATABLE_OOM:
            cause = (f"node {node or '?'}'s pods together filled node allocatable"
                     + (f" ({explain.size(kill.memcg_limit)})" if kill.memcg_limit else "")
                     + f"; the kernel killed {victim}"
                     + (f" (oom_score_adj {kill.oom_score_adj})"
                        if kill.oom_score_adj is not None else "")
                     + (f" at {explain.size(kill.rss)} RSS" if kill.rss is not None else ""))
        elif kind == m.SYSTEM_OOM:
            cause = (f"node {node or '?'} ran out of memory and the kernel's global OOM "
                     f"killer killed {victim}"
                     + (f" (oom_score_adj {kill.oom_score_adj})"
                        if kill.oom_score_adj is not None else ""))
        names = [container] if container else []
        incident = self._incident(kind, pod, kill.time, cause, evidence, containers=names,
                                  node=node,
                                  confidence=m.POSSIBLE if kind == m.NODE_OOM else m.CERTAIN)
        for facts in incident.containers:
            if facts.name == container:
                facts.init = init or facts.init
                if kill.rss is not None:
                    facts.usage = kill.rss
        return incident

    def _system_oom_near(self, node: str | None, moment: datetime | None) -> EventRecord | None:
        for record in self._node_events.get(node or "", []):
            global_kill = record.reason == "SystemOOM" and system_oom(record.message) or (
                record.reason == "OOMKilling" and record.message.startswith("Out of memory"))
            if not global_kill:
                continue
            if moment is None or record.last is None or abs(record.last - moment) <= NEAR:
                return record
        return None

    def _incident(self, kind: str, pod: _PodFacts | None, moment: datetime | None, cause: str,
                  evidence: list[m.Evidence], *, containers: list[str] | None = None,
                  confidence: str = m.CERTAIN, count: int = 1,
                  node: str | None = None) -> m.Incident:
        facts = []
        if pod is not None:
            wanted = containers if containers is not None else list(pod.specs)
            for name in wanted:
                spec = pod.specs.get(name)
                facts.append(m.ContainerFacts(name, spec.init if spec else False,
                                              spec.request if spec else None,
                                              spec.limit if spec else None,
                                              sidecar=spec.sidecar if spec else False))
        return m.Incident(kind, pod.namespace if pod else None, pod.name if pod else None,
                          node or (pod.node if pod else None), moment, cause, confidence,
                          containers=facts, count=count, evidence=evidence,
                          why=list(explain.WHY[kind]), advice=list(explain.ADVICE[kind]),
                          pod_uid=pod.uid if pod else None)

    @staticmethod
    def _merge(found: list[m.Incident]) -> list[m.Incident]:
        """One incident per type in a pod: its containers and counts added up."""
        merged: dict[str, m.Incident] = {}
        for incident in found:
            first = merged.get(incident.type)
            if first is None:
                merged[incident.type] = incident
                continue
            names = {c.name for c in first.containers}
            first.containers.extend(c for c in incident.containers if c.name not in names)
            first.count += incident.count
            first.evidence.extend(e for e in incident.evidence if e not in first.evidence)
            if incident.time and (first.time is None or incident.time > first.time):
                first.time, first.cause = incident.time, incident.cause
            order = (m.CERTAIN, m.LIKELY, m.POSSIBLE)
            first.confidence = min(first.confidence, incident.confidence, key=order.index)
        return list(merged.values())

    # -- the end ----------------------------------------------------------------------------
    def finish(self) -> m.Diagnosis:
        self._events_only()
        self._unmatched_kills()
        for incident in self.incidents:
            if incident.node:
                self._node(incident.node).incidents += 1
        for name, node in sorted(self.nodes.items()):
            if not node.known:
                self.notices.append(m.Problem(
                    "input", f"node {name} is named by pods, events or kernel logs but is not "
                             "in the input: its sizes are unknown"))
        self.incidents.sort(key=m.Incident.sort_key)
        return m.Diagnosis(self.incidents, [self.nodes[n] for n in sorted(self.nodes)],
                           self.errors, self.notices)

    def _events_only(self) -> None:
        """Pods that no longer exist (or never were in the input) but have events."""
        for (namespace, name), records in sorted(self._events_by_name.items(),
                                                 key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
            left = [r for r in records if id(r) not in self._used_events]
            if not left:
                continue
            # a pod that was read took its events (those of its UID): these are of a pod
            # that is gone, or of an earlier pod of the same name
            pod = _PodFacts({}, namespace, name, left[0].object_uid, left[-1].host, "")
            incident = self._incident_of_gone_pod(pod, left)
            if incident is not None:
                incident.owner = self._owner_by_name(namespace, name)
                self.incidents.append(incident)

    def _incident_of_gone_pod(self, pod: _PodFacts,
                              left: list[EventRecord]) -> m.Incident | None:
        label = f"Pod {pod.namespace}/{pod.name}"
        evicted = [r for r in left if r.reason == "Evicted"]
        memory = [r for r in evicted if _memory_eviction(r)]
        if memory:
            incident = self._eviction(pod, {}, "", memory, label)
            incident.node = incident.node or memory[-1].host
            incident.cause += " (the pod no longer exists: from its events)"
            return incident
        refused = [r for r in evicted if "MemoryPressure" in (
            admission_conditions(r.message) or [])]
        if refused:
            return self._incident(
                m.ADMISSION_REJECTED, pod, refused[-1].last,
                "the kubelet refused to start the pod: the node had MemoryPressure "
                "(the pod no longer exists: from its events)",
                [_event_evidence(refused[-1])], count=refused[-1].count)
        failed = [r for r in left if r.reason == "FailedScheduling"
                  and insufficient_memory(r.message)]
        if failed:
            return self._incident(
                m.UNSCHEDULABLE, pod, failed[-1].last,
                "the pod could not be scheduled: no node had the unrequested memory for "
                "its request (the pod no longer exists: from its events)",
                [_event_evidence(failed[-1])], count=sum(r.count for r in failed),
                confidence=m.LIKELY)
        return None

    def _unmatched_kills(self) -> None:
        for kill in self._kills:
            if id(kill) in self._used_kills:
                continue
            ref = parse_cgroup(kill.task_memcg or "")
            pod = None
            if ref.pod_uid:
                pod = _PodFacts({}, None, None, ref.pod_uid, kill.host, "")
            incident = self._from_kill(pod, kill, None, False)
            if ref.pod_uid:
                incident.cause += f" (pod UID {ref.pod_uid} is not in the input)"
            elif ref.level == OTHER or ref.level == ROOT:
                incident.cause += f" (a process outside pods, cgroup {ref.path or '?'})"
            self.incidents.append(incident)
        self._used_kills.update(id(k) for k in self._kills)

    def _owner_by_name(self, namespace: str | None,
                       name: str | None) -> tuple[str, str] | None:
        """The owner of a pod known by name only: ``<deployment>-<hash>-<suffix>`` is a
        Deployment's (through its ReplicaSet, when that object can be read)."""
        match = _RS_POD.match(name or "")
        if not match:
            return None
        rs = self._owner_object("ReplicaSet", "apps/v1", namespace or "",
                                f"{match.group(1)}-{match.group(2)}")
        return self.top_owner(rs)[0] if rs else ("Deployment", match.group(1))

    def _owner_object(self, kind: str, api_version: str, namespace: str,
                      name: str) -> Mapping[str, Any] | None:
        found = self.owners.get((kind, namespace, name))
        if found is None and self.owner_lookup is not None:
            found = self.owner_lookup(api_version, kind, namespace, name)
            if found is not None:
                found = self.owners[(kind, namespace, name)] = _trim(found)
        return found

    def top_owner(self, obj: Mapping[str, Any]
                  ) -> tuple[tuple[str, str] | None, Mapping[str, Any] | None]:
        """((kind, name), object or None) of the topmost controller of ``obj``.

        A ReplicaSet named ``<d>-<pod-template-hash>`` whose object is not in the input is
        taken as Deployment ``<d>`` (the deployment controller's naming)."""
        owner: tuple[str, str] | None = None
        found: Mapping[str, Any] | None = None
        current: Mapping[str, Any] | None = obj
        for _ in range(5):  # pod -> ReplicaSet -> Deployment; pod -> Job -> CronJob
            meta = mapping(current.get("metadata")) if current else {}
            refs = meta.get("ownerReferences")
            ref = next((r for r in refs if isinstance(r, dict) and r.get("controller")),
                       None) if isinstance(refs, list) else None
            if ref is None and isinstance(refs, list) and refs and isinstance(refs[0], dict):
                ref = refs[0]
            if ref is None:
                break
            kind, name = text(ref.get("kind")), text(ref.get("name"))
            if not kind or not name:
                break
            owner = (kind, name)
            namespace = text(meta.get("namespace")) or ""
            current = self._owner_object(kind, str(ref.get("apiVersion") or ""), namespace,
                                         name) if kind in _WORKLOAD_CHAIN | {
                "Deployment", "StatefulSet", "DaemonSet", "CronJob"} else None
            if current is None:
                labels = mapping(mapping(obj.get("metadata")).get("labels"))
                hash_ = text(labels.get("pod-template-hash"))
                if kind == "ReplicaSet" and hash_ and name.endswith("-" + hash_):
                    owner = ("Deployment", name[: -len(hash_) - 1])
                break
            found = current
            if kind not in _WORKLOAD_CHAIN:
                break
        return owner, found


_DROPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


def _trim(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """What is kept of an object until the end (prevention, owners, QoS): its spec and the
    identifying metadata, not managedFields, a last-applied copy of itself or its status."""
    meta = dict(mapping(obj.get("metadata")))
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict) and any(a in annotations for a in _DROPPED_ANNOTATIONS):
        meta["annotations"] = {k: v for k, v in annotations.items()
                               if k not in _DROPPED_ANNOTATIONS}
    out = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    out["metadata"] = meta
    status = mapping(obj.get("status"))
    if status:
        out["status"] = {k: status[k] for k in ("qosClass", "phase") if k in status}
    return out


def _kill_type(kill: OOMKill) -> tuple[str, str]:
    if kill.is_global:
        return m.SYSTEM_OOM, ""
    level = parse_cgroup(kill.oom_memcg).level if kill.oom_memcg else None
    if level == CONTAINER:
        return m.CONTAINER_LIMIT_OOM, ""
    if level == POD:
        return m.POD_LIMIT_OOM, ""
    if level in (QOS, KUBEPODS):
        return m.NODE_ALLOCATABLE_OOM, ""
    if level == ROOT:
        return m.SYSTEM_OOM, ""
    return m.NODE_OOM, "the kernel killed the process in a cgroup OOM the log does not place"


def _has_kill(status: Mapping[str, Any]) -> bool:
    return next(terminations(status), None) is not None


def _memory_eviction(record: EventRecord) -> bool:
    parsed = parse_eviction(record.message)
    if parsed is not None:
        return parsed.is_memory
    return record.annotations.get("starved_resource") == "memory"


def _event_evidence(record: EventRecord) -> m.Evidence:
    count = f" (x{record.count})" if record.count > 1 else ""
    api = "" if record.api == "v1" else f" [{record.api}]"
    return m.Evidence(f"{record.label}{api} reason={record.reason}{count}",
                      record.message.strip())


def _latest(events: list[EventRecord], status: Mapping[str, Any]) -> datetime | None:
    stamps = [e.last for e in events if e.last] + [
        t for t in (parse_time(status.get("startTime")),) if t]
    return max(stamps) if stamps else None


def _status_time(status: Mapping[str, Any]) -> datetime | None:
    """When a pod's status last changed: its newest condition transition or container end
    (an evicted pod's Ready=False transition is the eviction)."""
    stamps = []
    items = status.get("conditions")
    for item in items if isinstance(items, list) else ():
        stamp = parse_time(mapping(item).get("lastTransitionTime"))
        if stamp:
            stamps.append(stamp)
    for key in ("containerStatuses", "initContainerStatuses"):
        for item in status.get(key) or () if isinstance(status.get(key), list) else ():
            finished = mapping(mapping(mapping(item).get("state")).get("terminated"))
            stamp = parse_time(finished.get("finishedAt"))
            if stamp:
                stamps.append(stamp)
    return max(stamps) if stamps else parse_time(status.get("startTime"))


def _pod_limit(obj: Mapping[str, Any]) -> int | None:
    from oomguard.policies.incidents.pods import memory_bytes

    return memory_bytes(mapping(obj.get("spec")).get("resources"), "limits")


def _str(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else None
