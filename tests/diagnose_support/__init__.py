"""Real-shaped objects for diagnose tests: pods with the status kubelet writes, events of both
APIs, nodes, owners, and kernel OOM lines as dmesg, dmesg -T and journalctl print them."""

from tests.diagnose_support.kernel import kernel_oom
from tests.diagnose_support.objects import (
    NODE_UID,
    container_status,
    deployment,
    event_v1,
    event_v1beta,
    kubectl_list,
    node,
    pod,
    replica_set,
    uid,
)

__all__ = ["NODE_UID", "container_status", "deployment", "event_v1", "event_v1beta",
           "kernel_oom", "kubectl_list", "node", "pod", "replica_set", "uid"]
