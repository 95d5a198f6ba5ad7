"""Memory incidents: why a pod was OOM-killed, evicted, refused or left Pending.

Pure classification shared by ``oomguard diagnose`` (and readable by ``oomguard audit``):
a snapshot of Kubernetes objects and kernel log records in, incidents out. No I/O here;
reading files and the API is :mod:`oomguard.linter.snapshot`'s.

API::

    from oomguard.policies.incidents import Diagnoser, diagnose, parse_kernel_log

    d = Diagnoser(since=None, owner_lookup=None)  # owner_lookup(apiVersion, kind, ns, name)
    d.add_node(obj); d.add_limit_range(obj); d.add_owner(obj); d.add_event(obj, source)
    d.add_kernel_log(parse_kernel_log(text, file), node=None)
    d.add_pod(obj, source)       # after the others; the pod is judged now and dropped
    diagnosis = d.finish()       # Diagnosis(incidents, nodes, errors, notices); .to_json()

    diagnose(snapshot, engine=..., since=None)  # the same over a Snapshot, with prevention

Incident types (``model.TYPES``): container-limit-oom, pod-limit-oom, node-allocatable-oom,
system-oom, node-oom, eviction, admission-rejected, unschedulable, sigkill-not-oom.
"""

from __future__ import annotations

from oomguard.policies.incidents.classify import Diagnoser
from oomguard.policies.incidents.kernel import KernelLog, OOMKill, parse_kernel_log
from oomguard.policies.incidents.model import TYPES, Diagnosis, Incident, NodeSummary, Problem
from oomguard.policies.incidents.run import diagnose

__all__ = ["TYPES", "Diagnoser", "Diagnosis", "Incident", "KernelLog", "NodeSummary",
           "OOMKill", "Problem", "diagnose", "parse_kernel_log"]
