"""Read a live cluster into an :class:`~oomguard.policies.audit.Audit`: paginated lists
and the kubelets' ``/configz``, GET only (through :mod:`oomguard.linter.kube`).

Lists are streamed page by page into the audit, in the order it needs them: Nodes (sizes),
LimitRanges (template defaults), the controllers top down (a ReplicaSet's Deployment is
known before the ReplicaSet, so its pods' kill-order entries name the Deployment), Pods,
HPAs. The kubelets are read meanwhile by a bounded pool of threads, each request with its
own timeout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from oomguard.linter.kube import (
    CRON_JOBS,
    DAEMON_SETS,
    DEPLOYMENTS,
    JOBS,
    LIMIT_RANGES,
    NODES,
    PODS,
    REPLICA_SETS,
    REPLICATION_CONTROLLERS,
    STATEFUL_SETS,
    KubeClient,
    KubeError,
    Resource,
)
from oomguard.policies.audit import Audit, Problem

HPAS = Resource("HorizontalPodAutoscaler", "horizontalpodautoscalers", group="autoscaling",
                version="v2")
CONFIG_MAPS = Resource("ConfigMap", "configmaps")
# the ConfigMap kubeadm keeps the cluster's KubeletConfiguration in
KUBELET_CONFIG_MAP = ("kube-system", "kubelet-config")
TOP_DOWN = (DEPLOYMENTS, STATEFUL_SETS, DAEMON_SETS, CRON_JOBS, REPLICATION_CONTROLLERS,
            REPLICA_SETS, JOBS)


def guess_resource(api_version: str, kind: str) -> Resource:
    """The REST resource of a kind mapped under ``kinds:`` in the policy, named as
    apimachinery's UnsafeGuessKindToResource (pkg/api/meta/restmapper.go) names it:
    lower case, ``s`` -> ``ses``, ``y`` -> ``ies``, else ``+s``."""
    group, _, version = api_version.rpartition("/")
    lower = kind.lower()
    if lower.endswith("s"):
        plural = lower + "es"
    elif lower.endswith("y"):
        plural = lower[:-1] + "ies"
    else:
        plural = lower + "s"
    return Resource(kind, plural, group=group, version=version or "v1")


@dataclass
class LiveOptions:
    namespace: str | None  # None: all namespaces
    page_size: int = 500
    kubelet: bool = True
    kubelet_workers: int = 16
    kubelet_timeout: float = 10.0
    on_progress: Callable[[str], None] | None = None


@dataclass
class LiveStats:
    requests: int = 0
    objects: int = 0
    nodes_read: int = 0
    listed: dict[str, int] = field(default_factory=dict)


class _Abort(Exception):
    """The credentials are refused: every further request would be refused too."""


def _list(client: KubeClient, audit: Audit, resource: Resource, namespace: str | None,
          options: LiveOptions, stats: LiveStats, *, optional: bool = False,
          each: Callable[[dict[str, Any]], None] | None = None) -> bool:
    """Stream one collection into the audit; an API error is recorded (the audit goes
    on with the other collections). ``optional``: a 404 (a CRD that is not installed) is a
    notice."""
    scope = namespace if resource.namespaced else None
    count = 0
    try:
        for page in client.pages(resource, scope, limit=options.page_size):
            for obj in page.items:
                count += 1
                audit.add_object(obj)
                if each is not None:
                    each(obj)
    except KubeError as exc:
        source = f"GET {exc.path or resource.collection_path(scope)}"
        if exc.kind == "not-found" and optional:
            audit.notices.append(Problem(source, f"{resource.kind} ({resource.api_version}) "
                                         "is not served by this cluster; nothing to audit"))
            return False
        audit.errors.append(Problem(source, str(exc)))
        if exc.kind in ("unauthorized", "unreachable", "config"):
            raise _Abort from None
        return False
    finally:
        stats.listed[resource.label] = stats.listed.get(resource.label, 0) + count
        stats.objects += count
    return True


def _configz(client: KubeClient, node: str, timeout: float) -> Any:
    return client.get_json(f"/api/v1/nodes/{quote(node, safe='')}/proxy/configz",
                           timeout=timeout)


def _kubelet_reason(exc: KubeError) -> str:
    if exc.kind == "forbidden":
        return (f"403 Forbidden: the audit may not get nodes/proxy ({exc.message or 'RBAC'})")
    if exc.kind == "timeout":
        return f"the kubelet did not answer within the per-node timeout ({exc.message})"
    return str(exc).partition(": ")[2] or str(exc)


def read_cluster(client: KubeClient, audit: Audit, options: LiveOptions,
                 mapped: Sequence[Mapping[str, Any]] = ()) -> LiveStats:
    """Read everything the audit judges; errors and notices land in the audit."""
    stats = LiveStats()
    pool: ThreadPoolExecutor | None = None
    pending: list[tuple[str, Future[Any]]] = []

    def start_kubelet(node: dict[str, Any]) -> None:
        nonlocal pool
        name = (node.get("metadata") or {}).get("name")
        if not options.kubelet or not name:
            return
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=max(1, options.kubelet_workers),
                                      thread_name_prefix="configz")
        pending.append((str(name), pool.submit(_configz, client, str(name),
                                               options.kubelet_timeout)))

    try:
        try:
            _list(client, audit, NODES, None, options, stats, each=start_kubelet)
            _list(client, audit, LIMIT_RANGES, options.namespace, options, stats)
            for mapping in mapped:
                resource = guess_resource(str(mapping.get("apiVersion") or "v1"),
                                          str(mapping["kind"]))
                _list(client, audit, resource, options.namespace, options, stats,
                      optional=True)
            for resource in (*TOP_DOWN, PODS, HPAS):
                _list(client, audit, resource, options.namespace, options, stats)
            if options.namespace in (None, KUBELET_CONFIG_MAP[0]):
                _kubelet_config_map(client, audit)
        except _Abort:
            pass
        for name, future in pending:
            try:
                payload = future.result()
            except KubeError as exc:
                audit.kubelet_notice(name, _kubelet_reason(exc))
                continue
            stats.nodes_read += 1
            audit.add_configz(name, payload)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        stats.requests = client.requests
    return stats


def _kubelet_config_map(client: KubeClient, audit: Audit) -> None:
    namespace, name = KUBELET_CONFIG_MAP
    try:
        obj = client.get_optional(CONFIG_MAPS, name, namespace)
    except KubeError as exc:
        audit.notices.append(Problem(f"GET {CONFIG_MAPS.object_path(name, namespace)}",
                                     f"ConfigMap {namespace}/{name} not read: {exc}"))
        return
    if obj is not None:
        audit.add_object(obj)
