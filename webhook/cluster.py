"""What the webhook knows about the cluster: LimitRanges and node sizes, kept by list+watch.

The kubernetes client is imported here only, when the server starts and has credentials
(the CLI never pays for it). Without API access (no in-cluster config and no KUBECONFIG,
or RBAC refusing list/watch) the view falls back to the policy's ``node:`` values and says
so once in the log. A watch that drops or answers 410 Gone is recovered by listing again;
a watch that ends normally (its timeout) is resumed from the last resourceVersion.

Only what the judge needs is kept: each LimitRange's container defaults, each node's memory
capacity and allocatable; the judge reads an immutable snapshot swapped on every change.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from oomguard.policies.config import Policy
from oomguard.policies.quantity import QuantityError, parse_quantity
from oomguard.policies.workload.limitrange import ContainerDefaults, container_defaults
from oomguard.webhook import logs
from oomguard.webhook.review import ClusterFacts

WATCH_TIMEOUT = int(os.environ.get("OOMGUARD_WATCH_TIMEOUT", "300"))
# how long /readyz waits for the first lists before answering ready with what it has
SYNC_GRACE = float(os.environ.get("OOMGUARD_SYNC_GRACE", "10"))
MAX_BACKOFF = 30.0
RESOURCES = ("limitranges", "nodes")


class Gone(Exception):
    """The watch's resourceVersion is too old (HTTP 410): list again."""


class NoAccess(Exception):
    """401/403: the credentials or RBAC do not allow list/watch."""


def _memory(node: dict[str, Any], field: str) -> Decimal | None:
    status = node.get("status")
    values = status.get(field) if isinstance(status, dict) else None
    value = values.get("memory") if isinstance(values, dict) else None
    try:
        return None if value is None else parse_quantity(value)
    except QuantityError:
        return None


def _lines(response: Any) -> Iterator[bytes]:
    """The newline-delimited JSON events of a watch response, as they arrive."""
    buffer = b""
    for chunk in response.stream(amt=None, decode_content=False):
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        yield from (line for line in lines if line.strip())
    if buffer.strip():
        yield buffer


class ClusterView:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._limit_ranges: dict[tuple[str, str], ContainerDefaults | None] = {}
        self._nodes: dict[str, tuple[Decimal | None, Decimal | None]] = {}
        self._lock = threading.Lock()
        self._snapshot = self._build()
        self.synced: set[str] = set()  # resources listed at least once
        self.denied: set[str] = set()  # resources RBAC refuses (until a list succeeds)
        self.access = "none"  # "api" once there are credentials
        self.started = time.monotonic()
        self.stopped = threading.Event()
        self._said_no_access = False

    # -- what the judge reads ---------------------------------------------------------------
    def facts(self) -> ClusterFacts:
        return self._snapshot

    def set_policy(self, policy: Policy) -> None:
        with self._lock:
            self.policy = policy
            self._snapshot = self._build()

    @property
    def connected(self) -> bool:
        return self.access == "api" and self.synced >= set(RESOURCES)

    @property
    def state(self) -> str:
        """fallback (no API access: policy node values), syncing, or synced."""
        if self.access != "api" or self.denied - self.synced:
            return "fallback"
        return "synced" if self.connected else "syncing"

    def ready(self) -> bool:
        """Ready once both lists arrived, or without API access, or after SYNC_GRACE."""
        return self.state != "syncing" or time.monotonic() - self.started > SYNC_GRACE

    def _build(self) -> ClusterFacts:
        """A new snapshot; the caller holds the lock (or is the constructor)."""
        by_namespace: dict[str, list[ContainerDefaults]] = {}
        for (namespace, _), defaults in sorted(self._limit_ranges.items()):
            if defaults is not None:
                by_namespace.setdefault(namespace, []).append(defaults)
        capacities = [c for c, _ in self._nodes.values() if c is not None]
        allocatables = [a for _, a in self._nodes.values() if a is not None]
        return ClusterFacts(
            limit_ranges=by_namespace,
            node_memory=max(capacities) if capacities else self.policy.node_memory,
            node_allocatable=max(allocatables) if allocatables else self.policy.node_allocatable,
        )

    # -- the stores ---------------------------------------------------------------------------
    @staticmethod
    def _limit_range_entry(obj: dict[str, Any]) -> tuple[tuple[str, str], Any]:
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        # list items come without kind/apiVersion (only watch events carry them)
        return key, container_defaults({**obj, "kind": "LimitRange"})

    @staticmethod
    def _node_entry(obj: dict[str, Any]) -> tuple[str, Any]:
        name = str((obj.get("metadata") or {}).get("name") or "")
        return name, (_memory(obj, "capacity"), _memory(obj, "allocatable"))

    def _entry(self, resource: str, obj: dict[str, Any]) -> tuple[Any, Any]:
        if resource == "nodes":
            return self._node_entry(obj)
        return self._limit_range_entry(obj)

    def _store(self, resource: str) -> dict[Any, Any]:
        return self._nodes if resource == "nodes" else self._limit_ranges

    def _replace(self, resource: str, items: list[dict[str, Any]]) -> None:
        entries = dict(self._entry(resource, item) for item in items if isinstance(item, dict))
        with self._lock:
            store = self._store(resource)
            store.clear()
            store.update(entries)
            self._snapshot = self._build()

    def _apply(self, resource: str, kind: str, obj: dict[str, Any]) -> None:
        key, value = self._entry(resource, obj)
        with self._lock:
            store = self._store(resource)
            if kind == "DELETED":
                if key not in store:
                    return
                del store[key]
            elif store.get(key, ()) == value:
                return  # a node's status heartbeat: nothing the judge reads changed
            else:
                store[key] = value
            self._snapshot = self._build()

    # -- keeping it current -------------------------------------------------------------------
    def start(self) -> None:
        api = self._client()
        if api is None:
            return
        self.access = "api"
        listers = {"limitranges": api.list_limit_range_for_all_namespaces,
                   "nodes": api.list_node}
        for resource in RESOURCES:
            threading.Thread(target=self._keep_watching, args=(resource, listers[resource]),
                             name=f"watch-{resource}", daemon=True).start()

    def _no_access(self, why: str) -> None:
        if not self._said_no_access:
            self._said_no_access = True
            logs.event(logging.WARNING, "no-api-access",
                       fallback="policy node values, no LimitRanges", error=why[:300])

    def _client(self) -> Any:
        in_cluster = bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        kubeconfig = os.environ.get("KUBECONFIG")
        if not in_cluster and not kubeconfig:
            self._no_access("no in-cluster configuration and no KUBECONFIG")
            return None
        from kubernetes import client, config

        # Our own Configuration, not the client's process-wide default.
        configuration = client.Configuration()
        try:
            if in_cluster:
                config.load_incluster_config(client_configuration=configuration)
            else:
                config.load_kube_config(config_file=kubeconfig,
                                        client_configuration=configuration)
        except Exception as exc:  # noqa: BLE001 - any failure means: no API access
            self._no_access(f"{type(exc).__name__}: {exc}")
            return None
        return client.CoreV1Api(client.ApiClient(configuration))

    def _keep_watching(self, resource: str, lister: Callable[..., Any]) -> None:
        backoff = 0.5
        while not self.stopped.is_set():
            try:
                version = self._list(resource, lister)
                self.synced.add(resource)
                self.denied.discard(resource)
                backoff = 0.5
                while not self.stopped.is_set():
                    began = time.monotonic()
                    version = self._watch(resource, lister, version)
                    if time.monotonic() - began < 1:  # closed at once: do not spin
                        self.stopped.wait(1)
            except Gone:
                logs.event(logging.INFO, "watch-expired", resource=resource, action="relist")
                continue
            except NoAccess as exc:
                self.denied.add(resource)
                self._no_access(f"{resource}: {exc}")
                backoff = MAX_BACKOFF  # RBAC may be fixed later: keep trying, quietly
            except Exception as exc:  # noqa: BLE001 - dropped connections, API restarts, ...
                logs.event(logging.WARNING, "watch-failed", resource=resource, action="relist",
                           retryIn=backoff, error=f"{type(exc).__name__}: {exc}"[:300])
            self.stopped.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    @staticmethod
    def _call(lister: Callable[..., Any], **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException

        try:
            return lister(_preload_content=False, **kwargs)
        except ApiException as exc:
            if exc.status in (401, 403):
                raise NoAccess(f"HTTP {exc.status} {exc.reason}") from None
            if exc.status == 410:
                raise Gone() from None
            raise

    def _list(self, resource: str, lister: Callable[..., Any]) -> str:
        response = self._call(lister, _request_timeout=(10, 60))
        try:
            body = json.loads(response.data)
        finally:
            response.release_conn()
        self._replace(resource, list(body.get("items") or []))
        return str((body.get("metadata") or {}).get("resourceVersion") or "")

    def _watch(self, resource: str, lister: Callable[..., Any], version: str) -> str:
        response = self._call(lister, watch=True, resource_version=version,
                              allow_watch_bookmarks=True, timeout_seconds=WATCH_TIMEOUT,
                              _request_timeout=(10, WATCH_TIMEOUT + 30))
        try:
            for line in _lines(response):
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise Gone()
                    raise RuntimeError(f"watch error {obj.get('code')}: {obj.get('message')}")
                version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    self._apply(resource, kind, obj)
                if self.stopped.is_set():
                    break
        finally:
            response.close()  # never hand a half-read stream back to the pool
            response.release_conn()
        return version  # the stream ended (its timeout): resume from here
