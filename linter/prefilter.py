"""Skip documents that cannot matter before they are parsed.

Most bytes in real repositories and rendered charts are CustomResourceDefinitions, RBAC,
Services and the like: kinds without a pod spec, a LimitRange, an HPA or kubelet settings.
A document whose top-level ``kind:`` line names such a kind is replaced by as many empty
lines, so the parser never builds it and every line number of the file stays the same.

The price, stated in the README: a YAML syntax error inside a skipped document is not
reported (it never reaches the parser). Documents without a top-level ``kind:`` line (JSON,
flow style, an indented kind) are always parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Kinds oomguard never judges (no pod template, not a LimitRange, HPA or node config).
SKIP_KINDS = frozenset({
    "CustomResourceDefinition", "Service", "ServiceAccount", "Secret", "Role", "ClusterRole",
    "RoleBinding", "ClusterRoleBinding", "Ingress", "IngressClass", "NetworkPolicy",
    "PersistentVolume", "PersistentVolumeClaim", "StorageClass", "Namespace",
    "PodDisruptionBudget", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "APIService",
    "PriorityClass", "Endpoints", "EndpointSlice", "ResourceQuota", "CSIDriver",
    "PodSecurityPolicy", "ServiceMonitor", "PodMonitor", "PrometheusRule", "Probe",
    "Certificate", "Issuer", "ClusterIssuer", "Gateway", "HTTPRoute", "VirtualService",
    "DestinationRule", "ServiceEntry", "Kustomization", "Component", "Lease", "Event",
    "RuntimeClass", "VolumeSnapshotClass",
})
# ConfigMaps are skipped unless they may be the kubelet's (kube-system/kubelet-config).
_CONFIG_MAP = "ConfigMap"
_DOC_START = re.compile(r"^---(?=[ \t]|$)", re.MULTILINE)
_KIND = re.compile(r"^kind:[ \t]*[\"']?([A-Za-z0-9]+)[\"']?[ \t]*(?:#.*)?$", re.MULTILINE)


def _skippable(chunk: str, keep: frozenset[str]) -> bool:
    match = _KIND.search(chunk)
    if match is None:
        return False
    kind = match.group(1)
    if kind in keep:
        return False
    if kind == _CONFIG_MAP:
        return "kubelet" not in chunk
    return kind in SKIP_KINDS


def blank_irrelevant(text: str, keep_kinds: Iterable[str] = ()) -> tuple[str, int]:
    """The text with irrelevant documents blanked out, and how many were blanked."""
    if "kind:" not in text:
        return text, 0
    keep = frozenset(keep_kinds)
    starts = [m.start() for m in _DOC_START.finditer(text)]
    bounds = [0, *starts, len(text)] if not starts or starts[0] != 0 else [*starts, len(text)]
    pieces: list[str] = []
    blanked = 0
    for begin, end in zip(bounds, bounds[1:], strict=False):
        chunk = text[begin:end]
        if _skippable(chunk, keep):
            # keep the `---` line itself so document boundaries stay where they were
            first_newline = chunk.find("\n")
            head = chunk[:first_newline + 1] if chunk.startswith("---") and first_newline >= 0 \
                else ""
            pieces.append(head + "\n" * chunk.count("\n", len(head)))
            blanked += 1
        else:
            pieces.append(chunk)
    if not blanked:
        return text, 0
    return "".join(pieces), blanked
