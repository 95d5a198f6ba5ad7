"""diagnose(): a Snapshot through a Diagnoser, then the prevention findings."""

from __future__ import annotations

from datetime import datetime

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
    for pod, source in snapshot.pods:
        diagnoser.add_pod(pod, source)
    diagnosis = diagnoser.finish()
    if engine is not None:
        _add_prevention(diagnoser, diagnosis, engine, snapshot)
    # last: live lookups (owners, configz) add their problems to the snapshot until here
    diagnosis.errors[:0] = snapshot.errors
    diagnosis.notices[:0] = snapshot.notices
    return diagnosis


def _add_prevention(diagnoser: Diagnoser, diagnosis: m.Diagnosis, engine: Engine,
                    snapshot: Snapshot) -> None:
    finder = PreventionFinder(engine, diagnoser.limit_ranges)
    sized = [n for n in diagnoser.nodes.values() if n.allocatable]
    largest = max(sized, key=lambda n: n.allocatable or 0, default=None)
    configs = dict(snapshot.kubelet_configs)
    for incident in diagnosis.incidents:
        pod = diagnoser.pod_objects.get(id(incident))
        target = None
        if pod is not None:
            _, owner = diagnoser.top_owner(pod)
            target = owner if owner is not None and _has_template(owner) else pod
        elif incident.owner and incident.namespace:
            target = diagnoser.owners.get((incident.owner[0], incident.namespace,
                                           incident.owner[1]))
        node = diagnoser.nodes.get(incident.node or "")
        if incident.type == m.UNSCHEDULABLE or node is None or not node.allocatable:
            node = largest if incident.type == m.UNSCHEDULABLE else node
        capacity = node.capacity if node else None
        allocatable = node.allocatable if node else None
        if target is not None:
            incident.prevention = finder.for_object(target, capacity, allocatable)
        if incident.node:
            config = configs.get(incident.node)
            if config is None and snapshot.kubelet_config_lookup is not None:
                config = snapshot.kubelet_config_lookup(incident.node)
                configs[incident.node] = config or {}
            if config:
                incident.prevention.extend(finder.for_node(incident.node, config, capacity))
        if pod is not None:
            _qos_facts(incident, pod, engine, capacity)


def _has_template(obj: object) -> bool:
    spec = obj.get("spec") if isinstance(obj, dict) else None
    return isinstance(spec, dict) and bool(spec.get("template") or spec.get("jobTemplate"))


def _qos_facts(incident: m.Incident, pod: object, engine: Engine, capacity: int | None) -> None:
    """QoS class and each container's oom_score_adj, as the kubelet computes them
    (pkg/kubelet/qos/policy.go, via policies.facts)."""
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
