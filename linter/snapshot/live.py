"""A snapshot read from the API: GET only, lists streamed page by page."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from oomguard.linter.kube import (
    EVENTS,
    EVENTS_V1,
    LIMIT_RANGES,
    NODES,
    PODS,
    KubeClient,
    KubeError,
    Resource,
    resource_for,
)
from oomguard.policies.incidents.model import Problem
from oomguard.policies.incidents.snapshot import Snapshot

CONFIGZ_TIMEOUT = 5.0  # a node proxy to a dead kubelet must not hold up the report


def _problem(exc: KubeError) -> Problem:
    return Problem("API", str(exc))


def live_snapshot(client: KubeClient, namespace: str | None = None, *, page_size: int = 500,
                  kubelet_configs: bool = True) -> Snapshot:
    snap = Snapshot(source=f"cluster {client.context or client.server}")

    def streamed(resource: Resource, ns: str | None, source: str
                 ) -> Iterator[tuple[Mapping[str, Any], str]]:
        try:
            for obj in client.list(resource, ns, limit=page_size):
                yield obj, source
        except KubeError as exc:
            snap.errors.append(_problem(exc))

    def events() -> Iterator[tuple[Mapping[str, Any], str]]:
        failures: list[KubeError] = []
        for resource, source in ((EVENTS_V1, "API events.k8s.io/v1"), (EVENTS, "API v1")):
            try:
                for obj in client.list(resource, namespace, limit=page_size):
                    yield obj, source
            except KubeError as exc:
                failures.append(exc)
        if len(failures) == 2:  # one API is enough: both serve the same events
            snap.errors.extend(_problem(e) for e in failures)
        else:
            snap.notices.extend(Problem("API", f"{e}; events read through the other API")
                                for e in failures)

    refused: set[str] = set()

    def owner(api_version: str, kind: str, ns: str, name: str) -> Mapping[str, Any] | None:
        resource = resource_for(api_version, kind)
        if resource is None or resource.label in refused:
            return None
        try:
            return client.get_optional(resource, name, ns)
        except KubeError as exc:
            refused.add(resource.label)
            snap.notices.append(Problem("API", f"{exc}; owners of this kind are not read"))
            return None

    def configz(node: str) -> Mapping[str, Any] | None:
        if "nodes/proxy" in refused:
            return None
        try:
            body = client.get_json(f"/api/v1/nodes/{node}/proxy/configz",
                                   timeout=min(CONFIGZ_TIMEOUT, client.timeout))
        except KubeError as exc:
            if exc.kind in ("forbidden", "unauthorized"):
                refused.add("nodes/proxy")
            snap.notices.append(Problem("API", f"{exc}; node findings of {node} not judged"))
            return None
        config = body.get("kubeletconfig") if isinstance(body, dict) else None
        return config if isinstance(config, dict) else None

    # everything streams, read in the Snapshot's order: a diagnosis keeps a small summary
    # of each node, not the object
    snap.nodes = (obj for obj, _ in streamed(NODES, None, "API v1"))
    snap.limit_ranges = (obj for obj, _ in streamed(LIMIT_RANGES, namespace, "API v1"))
    snap.events = events()
    snap.pods = streamed(PODS, namespace, "API v1")
    snap.owner_lookup = owner
    snap.kubelet_config_lookup = configz if kubelet_configs else None
    return snap
