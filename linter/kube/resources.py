"""The API resources oomguard reads, with their REST paths (as kube-apiserver routes them:
``/api/v1/...`` for the core group, ``/apis/GROUP/VERSION/...`` otherwise)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Resource:
    kind: str
    plural: str
    group: str = ""
    version: str = "v1"
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def label(self) -> str:
        """How RBAC names it: ``pods``, ``events.events.k8s.io``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def _root(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def collection_path(self, namespace: str | None = None) -> str:
        if self.namespaced and namespace:
            return f"{self._root()}/namespaces/{quote(namespace, safe='')}/{self.plural}"
        return f"{self._root()}/{self.plural}"

    def object_path(self, name: str, namespace: str | None = None) -> str:
        return f"{self.collection_path(namespace)}/{quote(name, safe='')}"


PODS = Resource("Pod", "pods")
EVENTS = Resource("Event", "events")
EVENTS_V1 = Resource("Event", "events", group="events.k8s.io")
NODES = Resource("Node", "nodes", namespaced=False)
NAMESPACES = Resource("Namespace", "namespaces", namespaced=False)
LIMIT_RANGES = Resource("LimitRange", "limitranges")
REPLICATION_CONTROLLERS = Resource("ReplicationController", "replicationcontrollers")
REPLICA_SETS = Resource("ReplicaSet", "replicasets", group="apps")
DEPLOYMENTS = Resource("Deployment", "deployments", group="apps")
STATEFUL_SETS = Resource("StatefulSet", "statefulsets", group="apps")
DAEMON_SETS = Resource("DaemonSet", "daemonsets", group="apps")
JOBS = Resource("Job", "jobs", group="batch")
CRON_JOBS = Resource("CronJob", "cronjobs", group="batch")

_KNOWN = (PODS, EVENTS, EVENTS_V1, NODES, NAMESPACES, LIMIT_RANGES, REPLICATION_CONTROLLERS,
          REPLICA_SETS, DEPLOYMENTS, STATEFUL_SETS, DAEMON_SETS, JOBS, CRON_JOBS)
_BY_KIND = {(r.api_version, r.kind): r for r in _KNOWN}


def resource_for(api_version: str, kind: str) -> Resource | None:
    """The resource of an owner reference (``apps/v1``, ``ReplicaSet``), None if unknown."""
    return _BY_KIND.get((api_version, kind))
