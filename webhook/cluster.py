"""What the webhook knows about the cluster: LimitRanges and node sizes, kept by list+watch.

The kubernetes client is imported here only, when the server starts (the CLI never pays for
it). Without API access (no in-cluster config and no KUBECONFIG, or RBAC refuses) the view
falls back to the policy's ``node:`` values and says so once in the log. A watch that drops
or answers 410 Gone is recovered by listing again.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from policies.config import Policy
from policies.quantity import QuantityError, parse_quantity
from webhook.review import ClusterFacts

log = logging.getLogger("oomguard.webhook")
WATCH_TIMEOUT = int(os.environ.get("OOMGUARD_WATCH_TIMEOUT", "300"))


class Gone(Exception):
    """The watch's resourceVersion is too old (HTTP 410): list again."""


def _memory(node: dict[str, Any], field: str) -> Decimal | None:
    value = ((node.get("status") or {}).get(field) or {}).get("memory")
    try:
        return None if value is None else parse_quantity(value)
    except QuantityError:
        return None


class ClusterView:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._limit_ranges: dict[tuple[str, str], dict[str, Any]] = {}
        self._nodes: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.connected = False
        self.stopped = threading.Event()

    # -- what the judge reads ---------------------------------------------------------------
    def facts(self) -> ClusterFacts:
        with self._lock:
            limit_ranges = list(self._limit_ranges.values())
            nodes = list(self._nodes.values())
        capacities = [m for m in (_memory(n, "capacity") for n in nodes) if m is not None]
        allocatables = [m for m in (_memory(n, "allocatable") for n in nodes) if m is not None]
        return ClusterFacts(
            limit_ranges=limit_ranges,
            node_memory=max(capacities) if capacities else self.policy.node_memory,
            node_allocatable=max(allocatables) if allocatables else self.policy.node_allocatable,
        )

    # -- keeping it current ---------------------------------------------------------------------
    def start(self) -> None:
        api = self._client()
        if api is None:
            return
        for name, lister, store in (
                ("limitranges", api.list_limit_range_for_all_namespaces, self._limit_ranges),
                ("nodes", api.list_node, self._nodes)):
            threading.Thread(target=self._keep_watching, args=(name, lister, store),
                             name=f"watch-{name}", daemon=True).start()

    def _client(self) -> Any:
        try:
            from kubernetes import client, config
        except ImportError:  # pragma: no cover - a declared dependency
            return None
        # Our own Configuration, not the client's process-wide default.
        configuration = client.Configuration()
        try:
            if os.environ.get("KUBERNETES_SERVICE_HOST"):
                config.load_incluster_config(client_configuration=configuration)
            elif os.environ.get("KUBECONFIG"):
                config.load_kube_config(config_file=os.environ["KUBECONFIG"],
                                        client_configuration=configuration)
            else:
                raise RuntimeError("no in-cluster configuration and no KUBECONFIG")
        except Exception as exc:  # noqa: BLE001 - any failure means: no API access
            log.warning('{"event": "no-api-access", "fallback": "policy node values", '
                        '"error": %s}', json.dumps(str(exc)))
            return None
        return client.CoreV1Api(client.ApiClient(configuration))

    @staticmethod
    def _key(obj: dict[str, Any]) -> tuple[str, str]:
        meta = obj.get("metadata") or {}
        return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))

    def _keep_watching(self, name: str, lister: Callable[..., Any],
                       store: dict[tuple[str, str], dict[str, Any]] | dict[str, Any]) -> None:
        backoff = 0.5
        while not self.stopped.is_set():
            try:
                version = self._list(lister, store)
                self.connected = True
                backoff = 0.5
                while not self.stopped.is_set():
                    version = self._watch(lister, store, version)
            except Gone:
                log.info('{"event": "watch-expired", "resource": "%s", "action": "relist"}', name)
            except Exception as exc:  # noqa: BLE001 - dropped connections, RBAC, ...
                log.warning('{"event": "watch-failed", "resource": "%s", "error": %s}', name,
                            json.dumps(f"{type(exc).__name__}: {exc}"[:300]))
                self.stopped.wait(backoff)
                backoff = min(backoff * 2, 30)

    def _list(self, lister: Callable[..., Any], store: dict[Any, Any]) -> str:
        response = lister(_preload_content=False)
        body = json.loads(response.data)
        items = {self._key(item): item for item in body.get("items") or []}
        with self._lock:
            store.clear()
            store.update(items)
        return str((body.get("metadata") or {}).get("resourceVersion") or "")

    def _watch(self, lister: Callable[..., Any], store: dict[Any, Any], version: str) -> str:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        stream = watch.Watch()
        try:
            for event in stream.stream(lister, resource_version=version,
                                       timeout_seconds=WATCH_TIMEOUT,
                                       allow_watch_bookmarks=True):
                kind = event.get("type")
                obj = event.get("raw_object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise Gone()
                    raise RuntimeError(f"watch error: {obj.get('message')}")
                version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                if kind == "BOOKMARK":
                    continue
                with self._lock:
                    if kind == "DELETED":
                        store.pop(self._key(obj), None)
                    else:
                        store[self._key(obj)] = obj
        except ApiException as exc:
            if exc.status == 410:
                raise Gone() from None
            raise
        finally:
            stream.stop()
        time.sleep(0)  # a stream that ended normally (timeout) is resumed from `version`
        return version
