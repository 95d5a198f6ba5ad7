"""diagnose(): a Snapshot through a Diagnoser, then the prevention findings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from oomguard.policies.engine import Engine
from oomguard.policies.incidents import model as m
from oomguard.policies.incidents.classify import Diagnoser
from oomguard.policies.incidents.prevention import PreventionFinder
from oomguard.policies.incidents.snapshot import Snapshot


def diagnose(snapshot: Snapshot, engine: Engine | None = None, *,
             since: datetime | None = None) -> m.Diagnosis:
    diagnoser = Diagnoser(since=since, owner_lookup=snapshot.owner_lookup)
    for node in snapshot.nodes:
        diagnoser.add_node(node)
    for limit_range in snapshot.limit_ranges:
        diagnoser.add_limit_range(limit_range)
    for owner in snapshot.owners:
        diagnoser.add_owner(owner)
    for event, source in snapshot.events:
        diagnoser.add_event(event, source)
    known = {name for name, node in diagnoser.nodes.items() if node.known}
    for log, hint in snapshot.kernel_logs:
        node_name = hint if hint in known else (next(iter(log.hosts)) if len(log.hosts) == 1
                                                 else None)
        for host in sorted(log.hosts | ({node_name} if node_name else set())):
            if known and host not in known:
                diagnoser.notices.append(m.Problem(
                    log.file, f"kernel log of node {host}, which is not in the input: its "
                              "kills are matched to pods by container ID and pod UID only"))
        if node_name is None and not log.hosts and log.kills:
            diagnoser.notices.append(m.Problem(
                log.file, "kernel log without hostnames (dmesg): its node is unknown; name "
                          "the file after the node or use journalctl -k"))
        diagnoser.add_kernel_log(log, node_name)
    prevention = _Prevention(diagnoser, engine, snapshot) if engine is not None else None
    for pod, source in snapshot.pods:
        verdict = diagnoser.add_pod(pod, source)
        if verdict.incidents and prevention is not None:  # now: the pod is not kept
            prevention.of_pod(verdict.incidents, pod, verdict.owner_object)
    diagnosis = diagnoser.finish()
    if prevention is not None:
        prevention.of_the_rest(diagnosis.incidents)
    # last: live lookups (owners, configz) add their problems to the snapshot until here
    diagnosis.errors[:0] = snapshot.errors
    diagnosis.notices[:0] = snapshot.notices
    return diagnosis


class _Prevention:
    """The findings that would have prevented each incident, and the QoS facts of its pod.

    Pods are streamed and not kept, so an incident of a pod gets them as soon as the pod is
    judged (:meth:`of_pod`); node findings and the incidents of pods that are gone (owners
    from the snapshot only) at the end (:meth:`of_the_rest`)."""

    def __init__(self, diagnoser: Diagnoser, engine: Engine, snapshot: Snapshot) -> None:
        self.diagnoser, self.engine, self.snapshot = diagnoser, engine, snapshot
        self.finder = PreventionFinder(engine, diagnoser.limit_ranges)
        self.configs = dict(snapshot.kubelet_configs)
        self.judged: set[int] = set()  # id() of the incidents of :meth:`of_pod`
        sized = [n for n in diagnoser.nodes.values() if n.allocatable]
        self.largest = max(sized, key=lambda n: n.allocatable or 0, default=None)

    def _node(self, incident: m.Incident) -> m.NodeSummary | None:
        """The node whose sizes judge the spec: the largest for a pod no node could take."""
        if incident.type == m.UNSCHEDULABLE:
            return self.largest
        return self.diagnoser.nodes.get(incident.node or "")

    def of_pod(self, incidents: list[m.Incident], pod: Mapping[str, Any],
               owner: Mapping[str, Any] | None) -> None:
        # the owner is kept (one per workload) and its findings cached; a pod is judged
        # here once, not cached: its id() is free for reuse once it is dropped
        template = owner if owner is not None and _has_template(owner) else None
        for incident in incidents:
            self.judged.add(id(incident))
            node = self._node(incident)
            capacity = node.capacity if node else None
            allocatable = node.allocatable if node else None
            incident.prevention = self.finder.for_object(template or pod, capacity,
                                                         allocatable, cache=template is not None)
            _qos_facts(incident, pod, self.engine, capacity)

    def of_the_rest(self, incidents: list[m.Incident]) -> None:
        for incident in incidents:
            node = self._node(incident)
            capacity = node.capacity if node else None
            if id(incident) not in self.judged and incident.owner and incident.namespace:
                target = self.diagnoser.owners.get((incident.owner[0], incident.namespace,
                                                    incident.owner[1]))
                if target is not None:
                    incident.prevention = self.finder.for_object(
                        target, capacity, node.allocatable if node else None)
            if incident.node:
                incident.prevention.extend(self._node_findings(incident.node, capacity))

    def _node_findings(self, node: str, capacity: int | None) -> list[m.Prevention]:
        config = self.configs.get(node)
        if config is None and self.snapshot.kubelet_config_lookup is not None:
            config = self.snapshot.kubelet_config_lookup(node)
            self.configs[node] = config or {}
        return self.finder.for_node(node, config, capacity) if config else []


def _has_template(obj: object) -> bool:
    spec = obj.get("spec") if isinstance(obj, dict) else None
    return isinstance(spec, dict) and bool(spec.get("template") or spec.get("jobTemplate"))


def _qos_facts(incident: m.Incident, pod: object, engine: Engine, capacity: int | None) -> None:
    """QoS class and each container's oom_score_adj, as the kubelet computes them
    (pkg/kubelet/qos/policy.go, via policies.workload.facts)."""
    from decimal import Decimal

    from oomguard.policies.engine import ObjectResult
    from oomguard.policies.workload.facts import pod_facts
    from oomguard.policies.workload.model import PodModel

    if not isinstance(pod, dict):
        return
    model = engine.pod_model(pod, None)
    if not isinstance(model, PodModel) or isinstance(model, ObjectResult):
        return
    facts = pod_facts(model, Decimal(capacity) if capacity else None)
    status = pod.get("status") if isinstance(pod.get("status"), dict) else {}
    incident.qos = str((status or {}).get("qosClass") or facts.get("qos") or "") or None
    by_name = {c["name"]: c for c in facts.get("containers", [])}
    for container in incident.containers:
        entry = by_name.get(container.name)
        if entry is not None:
            container.oom_score_adj = entry.get("oomScoreAdj")
