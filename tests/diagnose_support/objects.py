"""Objects as `kubectl get -o yaml/json` prints them (kind/apiVersion on items)."""

from __future__ import annotations

import hashlib
from typing import Any

NODE_UID = "9b1c2d3e-0000-4000-8000-00000000node"


def uid(name: str) -> str:
    digest = hashlib.sha1(name.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"


def cid(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def container_status(name: str, *, state: dict[str, Any] | None = None,
                     last: dict[str, Any] | None = None, restarts: int = 0,
                     pod_name: str = "", runtime: str = "containerd") -> dict[str, Any]:
    return {"name": name, "image": f"registry.example.com/{name}:1.4.2",
            "imageID": f"registry.example.com/{name}@sha256:{cid(name)}",
            "containerID": f"{runtime}://{cid(pod_name + '/' + name + '/current')}",
            "ready": False, "started": False, "restartCount": restarts,
            "state": state or {"running": {"startedAt": "2026-03-27T10:40:00Z"}},
            "lastState": last or {}}


def terminated(reason: str, code: int, finished: str, *, container_id: str | None = None,
               started: str = "2026-03-27T10:30:00Z") -> dict[str, Any]:
    out: dict[str, Any] = {"terminated": {"exitCode": code, "reason": reason,
                                          "startedAt": started, "finishedAt": finished}}
    if container_id:
        out["terminated"]["containerID"] = container_id
    return out


def pod(name: str, namespace: str = "ci", *, node_name: str | None = "w-8xk2p",
        containers: list[dict[str, Any]] | None = None,
        init_containers: list[dict[str, Any]] | None = None,
        statuses: list[dict[str, Any]] | None = None,
        init_statuses: list[dict[str, Any]] | None = None, phase: str = "Running",
        reason: str | None = None, message: str | None = None,
        conditions: list[dict[str, Any]] | None = None, owner: tuple[str, str] | None = None,
        qos: str | None = "Burstable", pod_resources: dict[str, Any] | None = None,
        labels: dict[str, str] | None = None, status: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": uid(name),
                            "creationTimestamp": "2026-03-27T09:00:00Z",
                            "resourceVersion": "48151623", "labels": labels or {"app": name}}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1" if owner[0] != "Job" else
                                    "batch/v1", "kind": owner[0], "name": owner[1],
                                    "uid": uid(owner[1]), "controller": True,
                                    "blockOwnerDeletion": True}]
    spec: dict[str, Any] = {"containers": containers or [
        {"name": "app", "image": "registry.example.com/app:1.4.2",
         "resources": {"requests": {"memory": "256Mi", "cpu": "100m"},
                       "limits": {"memory": "512Mi"}}}],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
        "serviceAccountName": "default"}
    if init_containers:
        spec["initContainers"] = init_containers
    if node_name:
        spec["nodeName"] = node_name
    if pod_resources:
        spec["resources"] = pod_resources
    out: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    if status:
        st: dict[str, Any] = {"phase": phase, "hostIP": "10.0.3.17", "podIP": "10.244.3.41",
                              "startTime": "2026-03-27T09:00:05Z",
                              "conditions": conditions or [
                                  {"type": "PodScheduled", "status": "True",
                                   "lastTransitionTime": "2026-03-27T09:00:00Z"}]}
        if qos:
            st["qosClass"] = qos
        if statuses is not None:
            st["containerStatuses"] = statuses
        if init_statuses is not None:
            st["initContainerStatuses"] = init_statuses
        if reason:
            st["reason"] = reason
        if message:
            st["message"] = message
        out["status"] = st
    return out


def node(name: str, capacity: str = "16393288Ki", allocatable: str = "15242312Ki", *,
         pressure: bool = False) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": uid(name),
                         "labels": {"kubernetes.io/hostname": name}},
            "status": {"capacity": {"cpu": "4", "memory": capacity, "pods": "110"},
                       "allocatable": {"cpu": "3920m", "memory": allocatable, "pods": "110"},
                       "conditions": [
                           {"type": "MemoryPressure", "status": "True" if pressure else "False",
                            "reason": "KubeletHasInsufficientMemory" if pressure else
                            "KubeletHasSufficientMemory",
                            "lastTransitionTime": "2026-03-27T10:50:00Z"},
                           {"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}


def event_v1(name: str, reason: str, message: str, *, namespace: str = "ci",
             kind: str = "Pod", obj_name: str = "", obj_uid: str | None = None,
             count: int = 1, first: str | None = "2026-03-27T10:51:40Z",
             last: str | None = "2026-03-27T10:51:40Z", host: str | None = "w-8xk2p",
             component: str = "kubelet", field_path: str | None = None,
             annotations: dict[str, str] | None = None, etype: str = "Warning"
             ) -> dict[str, Any]:
    involved: dict[str, Any] = {"kind": kind, "name": obj_name or name.split(".")[0],
                                "apiVersion": "v1"}
    if kind != "Node":
        involved["namespace"] = namespace
    if obj_uid:
        involved["uid"] = obj_uid
    if field_path:
        involved["fieldPath"] = field_path
    meta: dict[str, Any] = {"name": name, "namespace": namespace if kind != "Node" else "default",
                            "uid": uid("event/" + name)}
    if annotations:
        meta["annotations"] = annotations
    out: dict[str, Any] = {"apiVersion": "v1", "kind": "Event", "metadata": meta,
                           "involvedObject": involved, "reason": reason, "message": message,
                           "type": etype, "count": count,
                           "source": {"component": component}}
    if host:
        out["source"]["host"] = host
    if first:
        out["firstTimestamp"] = first
    if last:
        out["lastTimestamp"] = last
    return out


def event_v1beta(name: str, reason: str, note: str, *, namespace: str = "ci",
                 kind: str = "Pod", obj_name: str = "", obj_uid: str | None = None,
                 count: int | None = None, event_time: str | None = "2026-03-27T10:51:40.123456Z",
                 series_last: str | None = None, host: str | None = "w-8xk2p",
                 annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """An events.k8s.io/v1 Event (regarding, note, series, deprecated* fields)."""
    regarding: dict[str, Any] = {"kind": kind, "name": obj_name or name.split(".")[0],
                                 "apiVersion": "v1"}
    if kind != "Node":
        regarding["namespace"] = namespace
    if obj_uid:
        regarding["uid"] = obj_uid
    meta: dict[str, Any] = {"name": name, "namespace": namespace if kind != "Node" else "default",
                            "uid": uid("event/" + name)}
    if annotations:
        meta["annotations"] = annotations
    out: dict[str, Any] = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": meta,
                           "regarding": regarding, "reason": reason, "note": note,
                           "type": "Warning", "action": reason,
                           "reportingController": "kubelet",
                           "reportingInstance": host or ""}
    if host:
        out["deprecatedSource"] = {"component": "kubelet", "host": host}
    if event_time:
        out["eventTime"] = event_time
    if count:
        out["series"] = {"count": count, "lastObservedTime": series_last or event_time}
    return out


def replica_set(name: str, deployment_name: str, namespace: str = "ci") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": namespace, "uid": uid(name),
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": deployment_name,
                                              "uid": uid(deployment_name), "controller": True}]},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": deployment_name}},
                     "template": {"metadata": {"labels": {"app": deployment_name}},
                                  "spec": {"containers": [{"name": "x", "image": "x"}]}}}}


def deployment(name: str, namespace: str = "ci", *,
               containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "uid": uid(name)},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": containers or [
                                      {"name": name, "image": f"registry.example.com/{name}:2"}]}}}}


def kubectl_list(*items: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": list(items),
            "metadata": {"resourceVersion": ""}}
