"""Which objects oomguard judges: the one place that says so.

The linter (and its prefilter), the webhook, the node code and the engine all ask here, so
``lint`` and the admission webhook judge the same objects (tests/test_judged_kinds.py).

Pod-bearing kinds are matched by API group *and* version, not by kind alone: a custom
resource called ``Deployment`` in ``example.com/v1`` is not a Deployment. The legacy group
versions that old charts still use are built-in kinds too; a version that never served a
kind is not. Sources: the types.go of each group version in k8s.io/api
(core/v1; apps/v1, v1beta2, v1beta1; extensions/v1beta1; batch/v1, v1beta1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from oomguard.policies.rule import Path

# The pod template of each pod-bearing kind (None: the object is a Pod).
POD_TEMPLATE_PATHS: Mapping[str, Path | None] = {
    "Pod": None,
    "PodTemplate": ("template",),
    "ReplicationController": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}

# The group versions that serve (or served) each kind; the first is the current one.
POD_KIND_VERSIONS: Mapping[str, tuple[str, ...]] = {
    "Pod": ("v1",),
    "PodTemplate": ("v1",),
    "ReplicationController": ("v1",),
    # extensions/v1beta1 and apps/v1beta2 were served until Kubernetes 1.16
    "ReplicaSet": ("apps/v1", "apps/v1beta2", "extensions/v1beta1"),
    "Deployment": ("apps/v1", "apps/v1beta2", "apps/v1beta1", "extensions/v1beta1"),
    "StatefulSet": ("apps/v1", "apps/v1beta2", "apps/v1beta1"),
    "DaemonSet": ("apps/v1", "apps/v1beta2", "extensions/v1beta1"),
    "Job": ("batch/v1",),
    "CronJob": ("batch/v1", "batch/v1beta1"),  # batch/v1beta1 until Kubernetes 1.25
}

# (apiVersion, kind) of every built-in pod-bearing object -> its pod template path
BUILTIN_POD_KINDS: Mapping[tuple[str, str], Path | None] = {
    (version, kind): POD_TEMPLATE_PATHS[kind]
    for kind, versions in POD_KIND_VERSIONS.items() for version in versions
}


def api_group(api_version: str) -> str:
    """``apps/v1`` -> ``apps``; ``v1`` -> ``""`` (the core group)."""
    group, slash, _ = api_version.rpartition("/")
    return group if slash else ""


def pod_template_path(api_version: Any, kind: Any,
                      mapped_kinds: Sequence[Mapping[str, Any]] = ()) -> tuple[bool, Path | None]:
    """(is pod-bearing, path of the pod template) for an object's apiVersion and kind.

    ``mapped_kinds`` are the policy's ``kinds:`` entries (``kind``, optional ``apiVersion``,
    ``podTemplate`` as a dotted path); they come first, so a mapping may also replace a
    built-in kind's template path.
    """
    if type(kind) is not str:  # a list or map there is no kind (and not hashable)
        return False, None
    for mapping in mapped_kinds:
        if mapping.get("kind") == kind and mapping.get("apiVersion") in (None, api_version):
            return True, tuple(str(mapping["podTemplate"]).split("."))
    key = (api_version, kind)
    if type(api_version) is str and key in BUILTIN_POD_KINDS:
        return True, BUILTIN_POD_KINDS[key]
    return False, None


def object_template_path(obj: Mapping[str, Any], mapped_kinds: Sequence[Mapping[str, Any]] = ()
                         ) -> tuple[bool, Path | None]:
    """:func:`pod_template_path` of an object (its own apiVersion and kind)."""
    return pod_template_path(obj.get("apiVersion"), obj.get("kind"), mapped_kinds)


# -- node configuration --------------------------------------------------------------------
KUBELET_CONFIG_API_PREFIX = "kubelet.config.k8s.io/"
KUBEADM_API_PREFIX = "kubeadm.k8s.io/"
KUBEADM_KINDS = frozenset({"InitConfiguration", "JoinConfiguration", "ClusterConfiguration"})
# Kinds that may be node configuration (a ConfigMap only when it is the kubelet's).
NODE_CONFIG_KINDS = frozenset({"KubeletConfiguration", *KUBEADM_KINDS, "ConfigMap"})

KUBELET_CONFIG_MAP_NAMESPACE = "kube-system"
# kubeadm names the ConfigMap kubelet-config (v1.24+) or kubelet-config-1.N (older):
# cmd/kubeadm/app/constants/constants.go KubeletBaseConfigurationConfigMap, and
# GetKubeletConfigMapName in cmd/kubeadm/app/phases/kubelet/config.go before 1.24.
KUBELET_CONFIG_MAP_PREFIX = "kubelet-config"
_KUBELET_CONFIG_MAP_NAME = re.compile(r"kubelet-config(?:-\d+\.\d+)?\Z")


def is_kubelet_config_map(api_version: Any, kind: Any, namespace: Any, name: Any) -> bool:
    """ConfigMap kube-system/kubelet-config (a manifest file may leave the namespace out)."""
    return (kind == "ConfigMap" and api_version == "v1" and isinstance(name, str)
            and _KUBELET_CONFIG_MAP_NAME.match(name) is not None
            and namespace in (KUBELET_CONFIG_MAP_NAMESPACE, None))


def may_name_kubelet_config_map(text: str) -> bool:
    """Whether a document's text could hold the kubelet's ConfigMap name (the prefilter's
    test: a backslash escape could spell the name in a double-quoted string)."""
    return KUBELET_CONFIG_MAP_PREFIX in text or "\\" in text


# -- other kinds a run reads ---------------------------------------------------------------
LIMIT_RANGE = "LimitRange"
HORIZONTAL_POD_AUTOSCALER = "HorizontalPodAutoscaler"
