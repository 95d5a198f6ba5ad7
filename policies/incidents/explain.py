"""Plain words for each incident type: the cause sentence, the mechanism (why) and advice.

The mechanisms, with their sources (kubernetes/kubernetes):
- eviction ranks pods by whether usage exceeds requests, then priority, then usage above
  request (pkg/kubelet/eviction/helpers.go rankMemoryPressure: exceedMemoryRequests,
  priority, memory);
- memory.available = capacity - working set, and the working set counts active page cache
  (pkg/kubelet/eviction/helpers.go makeSignalObservations; cAdvisor's working set is usage
  minus inactive_file), which is why dashboards of RSS or "used" disagree with the kubelet;
- oom_score_adj by QoS class (pkg/kubelet/qos/policy.go): Guaranteed -997, BestEffort 1000,
  Burstable 1000 - 1000 * request / capacity, clamped to [2, 999]: in a node OOM the kernel
  kills the highest (badness + oom_score_adj) first, not the largest over its limit;
- exit code 137 is 128 + SIGKILL: the OOM killer sends SIGKILL, but so do the kubelet after a
  failed liveness probe and a grace period, and `kill -9`.
"""

from __future__ import annotations

from oomguard.policies.incidents import model as m
from oomguard.policies.quantity import format_bytes


def size(value: int | None) -> str:
    """A byte count a person reads at a glance: exact Mi/Gi when it is one, else rounded
    (kernel and kubelet report Ki: 48458972Ki reads as 46.2Gi)."""
    if value is None:
        return "unknown"
    for shift, unit in ((30, "Gi"), (20, "Mi")):
        if value and value % (1 << shift) == 0:
            return f"{value >> shift}{unit}"
    if abs(value) >= 1 << 30:
        return f"{value / (1 << 30):.1f}Gi"
    if abs(value) >= 1 << 20:
        return f"{value / (1 << 20):.0f}Mi"
    return format_bytes(value)


WHY = {
    m.CONTAINER_LIMIT_OOM: [
        "The container's own memory limit is its cgroup's memory.max (v2) or "
        "memory.limit_in_bytes (v1); when its usage reaches it and the kernel cannot reclaim "
        "enough, the OOM killer kills a process inside that cgroup.",
        "Usage here includes page cache and tmpfs (memory-backed emptyDir) the container "
        "touched, not only the RSS a dashboard shows.",
    ],
    m.POD_LIMIT_OOM: [
        "The pod-level memory limit (spec.resources) caps the sum of all its containers: "
        "one container can be killed while far below any limit of its own.",
    ],
    m.NODE_ALLOCATABLE_OOM: [
        "The OOM happened in the node's pods cgroup (kubepods), which the kubelet caps at "
        "node allocatable: the pods together used all of it, before the kubelet's eviction "
        "could act.",
        "The victim is chosen by oom_score_adj, set by QoS class (BestEffort 1000, Burstable "
        "1000 - 1000*request/capacity, Guaranteed -997), so a pod far below its own limit, "
        "with a small request, dies first.",
    ],
    m.SYSTEM_OOM: [
        "The kernel's global OOM killer ran: the whole machine was out of memory, including "
        "system daemons and memory outside kubepods; container limits do not protect here.",
        "The victim is chosen by oom_score_adj by QoS class: even a Burstable container with "
        "a limit can be killed when its request is small compared with the node.",
    ],
    m.NODE_OOM: [
        "The container was OOM-killed without reaching a limit of its own (it has none), so "
        "the node or its pods cgroup ran out; the evidence at hand cannot tell which.",
        "A kernel log of the node (journalctl -k) would show oom_memcg=/kubepods... for node "
        "allocatable or global_oom for the whole machine.",
    ],
    m.EVICTION: [
        "The kubelet evicted the pod because the node's memory.available fell below the "
        "eviction threshold. memory.available counts the working set, active page cache "
        "included, which is why `free` or an RSS dashboard can show plenty free.",
        "The kubelet ranks pods by whether their usage exceeds their request, then by "
        "priority, then by usage above request: pods with no or a low memory request go "
        "first.",
    ],
    m.ADMISSION_REJECTED: [
        "The kubelet refused to start the pod: the node reported MemoryPressure (or not "
        "enough memory), and under MemoryPressure it admits no BestEffort pod and, with "
        "the node short of memory, none that does not fit. The pod never ran.",
    ],
    m.UNSCHEDULABLE: [
        "The scheduler found no node with enough unrequested allocatable memory for the "
        "pod's memory request (the sum of its containers' requests, or the largest init "
        "container, plus overhead). Usage does not matter here, requests do.",
    ],
    m.SIGKILL_NOT_OOM: [
        "Exit code 137 is 128 + 9: the process got SIGKILL. The OOM killer sends it, but so "
        "does the kubelet when a liveness probe fails or the grace period ends, and so does "
        "`kill -9`; without an OOMKilled reason or a kernel OOM line it is no OOM.",
    ],
}

ADVICE = {
    m.CONTAINER_LIMIT_OOM: [
        "Raise the container's memory limit above its peak working set, or lower the "
        "application's footprint (heap settings, caches, tmpfs).",
        "Size a runtime heap (-Xmx, --max-old-space-size, GOMEMLIMIT) below the limit with "
        "headroom for non-heap memory.",
    ],
    m.POD_LIMIT_OOM: ["Raise the pod-level memory limit, or give each container its own "
                      "limit so one cannot starve the others."],
    m.NODE_ALLOCATABLE_OOM: [
        "Set memory requests close to real usage on every pod of the node (requests = "
        "limits for the pods that must survive: Guaranteed QoS).",
        "Make sure the kubelet's hard eviction threshold (memory.available) leaves room to "
        "evict before the pods cgroup fills.",
    ],
    m.SYSTEM_OOM: [
        "Reserve memory for the system and the kubelet (systemReserved, kubeReserved) and "
        "enforce node allocatable on pods, so pods cannot take the machine's last memory.",
        "Give the pods that must survive Guaranteed QoS (requests = limits).",
    ],
    m.NODE_OOM: ["Set a memory limit and a realistic request on the container.",
                 "Collect `journalctl -k` of the node and run oomguard diagnose with it to "
                 "tell node allocatable from a system OOM."],
    m.EVICTION: [
        "Set memory requests to the real working set (pods using more than they request "
        "are evicted first), and limits to bound them.",
        "Use a PriorityClass for pods that must stay (a PodDisruptionBudget does not stop "
        "node-pressure evictions).",
    ],
    m.ADMISSION_REJECTED: ["Give the pod a memory request (BestEffort pods are refused "
                           "under MemoryPressure), and relieve the node's memory pressure."],
    m.UNSCHEDULABLE: ["Lower the pod's memory request to what it needs, or add nodes with "
                      "more allocatable memory (or let the cluster autoscaler do it)."],
    m.SIGKILL_NOT_OOM: ["Check the liveness probe (timeouts, initialDelaySeconds, a "
                        "startupProbe for slow starts) and terminationGracePeriodSeconds."],
}
