"""A small read-only Kubernetes API client over the real ``kubernetes`` package.

Shared by ``oomguard diagnose`` and ``oomguard audit``. It never writes: every request it can
make is a GET. The ``kubernetes`` package is imported only by :meth:`KubeClient.connect`, so
importing this module is cheap.

API (stable; add, don't rename)::

    from oomguard.linter.kube import KubeClient, KubeError, PODS, NODES, resource_for

    client = KubeClient.connect(kubeconfig=None, context=None, timeout=30.0)
        # kubeconfig: a path, else $KUBECONFIG, else ~/.kube/config; when none of those
        # exists and $KUBERNETES_SERVICE_HOST is set, the in-cluster service account.
        # in_cluster=True/False forces the choice; service_account_dir= the in-cluster
        # token/ca.crt/namespace folder. Raises KubeConfigError (a KubeError).
    client.namespace        # the context's namespace (in-cluster: the pod's), else "default"
    client.context          # the kubeconfig context name, None in-cluster
    client.server           # the API server URL
    client.requests         # how many HTTP requests were made (all GET)

    for obj in client.list(PODS, namespace=None, limit=500,
                           label_selector=None, field_selector=None):
        ...                 # dicts, streamed page by page (limit/continue); kind and
                            # apiVersion stamped on every item (the API server omits them)
    for page in client.pages(PODS, namespace="ci", limit=500):
        page.items, page.resource_version, page.continue_token

    client.get(DEPLOYMENTS, "web", namespace="ci")      # one object, kind/apiVersion stamped
    client.get_optional(DEPLOYMENTS, "web", "ci")      # None on 404
    client.get_raw("/api/v1/nodes/w-1/proxy/configz", query=None, timeout=10.0) -> bytes
    client.get_json("/api/v1/nodes/w-1/proxy/configz") -> Any
    client.close()

    KubeError(verb, resource, status, reason, message, namespace=None, name=None, path="")
        .kind in {"unauthorized", "forbidden", "not-found", "unreachable", "timeout",
                  "expired", "http", "config", "invalid-response"}
        str(err) == 'cannot list pods in namespace "ci": 403 Forbidden: <server message>'

    Resource(kind, plural, group="", version="v1", namespaced=True)
        .api_version, .collection_path(namespace), .object_path(name, namespace)
    PODS, EVENTS (core v1), EVENTS_V1 (events.k8s.io/v1), NODES, LIMIT_RANGES, NAMESPACES,
    REPLICA_SETS, DEPLOYMENTS, STATEFUL_SETS, DAEMON_SETS, JOBS, CRON_JOBS,
    REPLICATION_CONTROLLERS
    resource_for(api_version, kind) -> Resource | None    # for owner references
"""

from __future__ import annotations

from oomguard.linter.kube.client import KubeClient, Page
from oomguard.linter.kube.errors import KubeConfigError, KubeError
from oomguard.linter.kube.resources import (
    CRON_JOBS,
    DAEMON_SETS,
    DEPLOYMENTS,
    EVENTS,
    EVENTS_V1,
    JOBS,
    LIMIT_RANGES,
    NAMESPACES,
    NODES,
    PODS,
    REPLICA_SETS,
    REPLICATION_CONTROLLERS,
    STATEFUL_SETS,
    Resource,
    resource_for,
)

__all__ = [
    "CRON_JOBS", "DAEMON_SETS", "DEPLOYMENTS", "EVENTS", "EVENTS_V1", "JOBS", "LIMIT_RANGES",
    "NAMESPACES", "NODES", "PODS", "REPLICATION_CONTROLLERS", "REPLICA_SETS", "STATEFUL_SETS",
    "KubeClient", "KubeConfigError", "KubeError", "Page", "Resource", "resource_for",
]
