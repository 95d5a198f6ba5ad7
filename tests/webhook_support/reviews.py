"""AdmissionReviews shaped exactly as kube-apiserver sends them, and objects to put in them."""

from __future__ import annotations

import copy
import uuid
from typing import Any

# kind -> (group, version, resource)
RESOURCES = {
    "Pod": ("", "v1", "pods"), "PodTemplate": ("", "v1", "podtemplates"),
    "ReplicationController": ("", "v1", "replicationcontrollers"),
    "Deployment": ("apps", "v1", "deployments"), "ReplicaSet": ("apps", "v1", "replicasets"),
    "StatefulSet": ("apps", "v1", "statefulsets"), "DaemonSet": ("apps", "v1", "daemonsets"),
    "Job": ("batch", "v1", "jobs"), "CronJob": ("batch", "v1", "cronjobs"),
    "ConfigMap": ("", "v1", "configmaps"), "Service": ("", "v1", "services"),
    "Rollout": ("argoproj.io", "v1alpha1", "rollouts"),
}
OPTIONS = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}


def review(obj: dict[str, Any] | None, operation: str = "CREATE",
           old: dict[str, Any] | None = None, namespace: str | None = "default",
           dry_run: bool = False, sub_resource: str | None = None,
           kind: str | None = None) -> dict[str, Any]:
    """An ``admission.k8s.io/v1`` AdmissionReview as kube-apiserver sends it: kind and
    resource (with the request* twins), userInfo, options, dryRun, and oldObject on UPDATE
    and DELETE (null otherwise)."""
    kind = kind or (obj or old or {})["kind"]
    group, version, resource = RESOURCES[kind]
    gvk = {"group": group, "version": version, "kind": kind}
    gvr = {"group": group, "version": version, "resource": resource}
    meta = (obj or old or {}).get("metadata") or {}
    request: dict[str, Any] = {
        "uid": str(uuid.uuid4()),
        "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
        "name": meta.get("name", ""),
        "operation": operation,
        "userInfo": {"username": "kubernetes-admin", "uid": "aws-iam-authenticator:1",
                     "groups": ["system:masters", "system:authenticated"]},
        "object": obj,
        "oldObject": old if operation in ("UPDATE", "DELETE") else None,
        "dryRun": dry_run,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": OPTIONS.get(operation,
                                                                      "CreateOptions"),
                    "fieldManager": "kubectl-client-side-apply", "fieldValidation": "Strict"},
    }
    if namespace is not None:
        request["namespace"] = namespace
    if sub_resource:
        request["subResource"] = sub_resource
        request["requestSubResource"] = sub_resource
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def container(resources: dict[str, Any] | None = None, name: str = "app",
              **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "image": "nginx:1.27", **extra}
    if resources is not None:
        out["resources"] = copy.deepcopy(resources)
    return out


def pod(resources: dict[str, Any] | None = None, name: str = "p",
        owner: str | None = None, annotations: dict[str, str] | None = None,
        containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner, "name": "o",
                                    "uid": "6f1c", "controller": True,
                                    "blockOwnerDeletion": True}]
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": containers or [container(resources)]}}


def deployment(resources: dict[str, Any] | None, name: str = "web",
               replicas: int = 2) -> dict[str, Any]:
    spec_pod = pod(resources)["spec"]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec_pod}}}


def kubelet_config_map(kubelet: str, name: str = "kubelet-config") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "kube-system"},
            "data": {"kubelet": kubelet}}


GUARANTEED = {"requests": {"memory": "256Mi", "cpu": "100m"},
              "limits": {"memory": "256Mi", "cpu": "100m"}}
RATIO_WARNING = {"requests": {"memory": "64Mi", "cpu": "100m"}, "limits": {"memory": "256Mi"}}
# OOM101/OOM110 errors: no resources at all
BEST_EFFORT = None
