"""Cheap reads of a pod object: every pod of a cluster passes here, so this touches only the
fields a node's memory totals and the incident triage need."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from oomguard.policies.quantity import QuantityError, parse_quantity

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
SIGKILL_EXIT = 137  # 128 + SIGKILL(9): the runtime's exit code for a killed process


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def memory_bytes(resources: Any, key: str) -> int | None:
    raw = mapping(mapping(resources).get(key)).get("memory")
    if raw is None or isinstance(raw, (bool, dict, list)):
        return None
    try:
        return int(parse_quantity(raw))
    except (QuantityError, ValueError, ArithmeticError):
        return None


@dataclass
class ContainerSpec:
    name: str
    init: bool
    sidecar: bool
    request: int | None
    limit: int | None


def container_specs(spec: Mapping[str, Any]) -> list[ContainerSpec]:
    out = []
    for key, init in (("initContainers", True), ("containers", False)):
        items = spec.get(key)
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, dict):
                continue
            resources = item.get("resources")
            limit = memory_bytes(resources, "limits")
            request = memory_bytes(resources, "requests")
            if request is None:
                request = limit  # API defaulting: a request defaults to the limit
            out.append(ContainerSpec(str(item.get("name") or "?"), init,
                                     init and item.get("restartPolicy") == "Always",
                                     request, limit))
    return out


def pod_requests_and_limits(spec: Mapping[str, Any]) -> tuple[int, int]:
    """Memory (requests, limits) as the scheduler and ``kubectl describe node`` add them up:
    PodRequests/PodLimits in k8s.io/component-helpers/resource/helpers.go (sidecars run
    beside the containers, an init container runs alone with the sidecars before it, a
    pod-level value replaces the aggregate, overhead is added)."""
    total_req = total_lim = 0
    sidecar_req = sidecar_lim = init_req = init_lim = 0
    containers = spec.get("containers")
    for item in containers if isinstance(containers, list) else ():
        resources = mapping(item).get("resources")
        if resources:
            lim = memory_bytes(resources, "limits")
            req = memory_bytes(resources, "requests")
            total_req += req if req is not None else (lim or 0)
            total_lim += lim or 0
    inits = spec.get("initContainers")
    for item in inits if isinstance(inits, list) else ():
        resources = mapping(item).get("resources")
        lim = memory_bytes(resources, "limits") or 0
        req = memory_bytes(resources, "requests")
        req = req if req is not None else lim
        if mapping(item).get("restartPolicy") == "Always":
            total_req += req
            total_lim += lim
            sidecar_req += req
            sidecar_lim += lim
            init_req, init_lim = max(init_req, sidecar_req), max(init_lim, sidecar_lim)
        else:
            init_req = max(init_req, req + sidecar_req)
            init_lim = max(init_lim, lim + sidecar_lim)
    request, limit = max(total_req, init_req), max(total_lim, init_lim)
    pod_level = spec.get("resources")
    if pod_level:
        pod_req = memory_bytes(pod_level, "requests")
        pod_lim = memory_bytes(pod_level, "limits")
        request = pod_req if pod_req is not None else (pod_lim if pod_lim is not None
                                                        else request)
        limit = pod_lim if pod_lim is not None else limit
    overhead = spec.get("overhead")
    if overhead:
        extra = memory_bytes({"o": overhead}, "o") or 0
        request += extra
        if limit:
            limit += extra
    return request, limit


@dataclass
class Termination:
    container: str
    init: bool
    reason: str | None
    exit_code: int | None
    finished_at: str | None
    started_at: str | None
    container_id: str | None
    message: str | None
    current: bool          # state (True) or lastState (False)
    restart_count: int
    waiting_reason: str | None


def terminations(status: Mapping[str, Any]) -> Iterator[Termination]:
    """Container terminations that may be kills: OOMKilled or exit code 137."""
    for key, init in (("initContainerStatuses", True), ("containerStatuses", False)):
        items = status.get(key)
        for item in items if isinstance(items, list) else ():
            item = mapping(item)
            restarts = item.get("restartCount") if isinstance(item.get("restartCount"), int) \
                else 0
            waiting = text(mapping(mapping(item.get("state")).get("waiting")).get("reason"))
            for state_key, current in (("state", True), ("lastState", False)):
                terminated = mapping(mapping(item.get(state_key)).get("terminated"))
                if not terminated:
                    continue
                reason = text(terminated.get("reason"))
                code = terminated.get("exitCode")
                code = code if isinstance(code, int) and not isinstance(code, bool) else None
                if reason != "OOMKilled" and code != SIGKILL_EXIT:
                    continue
                yield Termination(
                    str(item.get("name") or "?"), init, reason, code,
                    text(terminated.get("finishedAt")), text(terminated.get("startedAt")),
                    text(terminated.get("containerID")) or (
                        text(item.get("containerID")) if current else None),
                    text(terminated.get("message")), current, int(restarts or 0), waiting)


def container_ids(status: Mapping[str, Any]) -> dict[str, tuple[str, bool]]:
    """runtime container ID -> (container name, init) for the current and last instances."""
    out: dict[str, tuple[str, bool]] = {}
    for key, init in (("initContainerStatuses", True), ("containerStatuses", False)):
        items = status.get(key)
        for item in items if isinstance(items, list) else ():
            item = mapping(item)
            name = str(item.get("name") or "?")
            ids = [item.get("containerID"),
                   mapping(mapping(item.get("lastState")).get("terminated")).get("containerID"),
                   mapping(mapping(item.get("state")).get("terminated")).get("containerID")]
            for cid in ids:
                if isinstance(cid, str) and cid:
                    out[cid.rsplit("://", 1)[-1]] = (name, init)
    return out


def condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    items = status.get("conditions")
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and item.get("type") == kind:
            return item
    return {}
