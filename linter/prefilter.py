"""Skip documents that cannot matter before they are parsed.

Most bytes in real repositories and rendered charts are CustomResourceDefinitions, RBAC,
Services and the like: kinds without a pod spec, a LimitRange, an HPA or kubelet settings.
A document whose top-level ``kind:`` line names such a kind is replaced by as many empty
lines, so the parser never builds it and every line number of the file stays the same.

It must never skip a document the full parse would judge, so a document is skipped only
when its text leaves no doubt (see :func:`_skippable`); in any doubt it is parsed. Documents
without a top-level ``kind:`` line (JSON, flow style, an indented kind) are always parsed.
tests/test_prefilter.py proves the findings equal to those of a full parse over the corpus
and over generated CRLF, comment, quoted-string, block-scalar and flow-style variants.

The price, stated in the README: a YAML syntax error inside a skipped document is not
reported (it never reaches the parser).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from oomguard.policies.kinds import may_name_kubelet_config_map
from oomguard.policies.source import DOCUMENT_START, iter_documents

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
# A CRD's schema names `containers` without being a pod; any other kind of this list that
# does (a Knative Service) is parsed, so that the notice asking to map it is not lost.
_CRD = "CustomResourceDefinition"
# A whole line `kind: Name`, the value plain or quoted, a comment allowed, CRLF or LF.
# (Column 0 is "not after a character other than a newline", see DOCUMENT_START.)
_KIND = re.compile(r"kind:(?<![^\n]kind:)[ \t]*([\"']?)([A-Za-z0-9]+)\1[ \t]*(?:#[^\r\n]*)?"
                   r"\r?(?=\n|\Z)")
# Up to the kind line, the common case needs no parse: a `---` line, then only comments,
# blank lines and `key: value` lines whose plain value ends on its line.
_SIMPLE_PREFIX = re.compile(
    r"(?:---(?:[ \t]+#[^\r\n]*)?[ \t]*\r?\n)?"
    r"(?:(?:#[^\r\n]*|[ \t]*|[A-Za-z][A-Za-z0-9_./-]*:[ \t]+[A-Za-z0-9][A-Za-z0-9_./-]*"
    r"[ \t]*(?:[ \t]#[^\r\n]*)?)\r?\n)*")
# The kind's value goes on if the next line that is not blank is indented (a plain scalar
# continues there).
_CONTINUED = re.compile(r"\r?\n(?:[ \t]*\r?\n)*[ \t]")
# After the kind line, a line that could start another top-level `kind` key (quoted, with
# an anchor, tag or alias, explicit `?`, a flow key), or another document (`...`, `%`).
_MAYBE_KIND_AGAIN = re.compile(r"\n(?:kind[ \t]*:|[\"'?&!*{\[%]|\.\.\.)")
_LONE_CR = re.compile(r"\r(?!\n)")  # a line break for libyaml, not for the patterns here
_PREFIX_PARSE_LIMIT = 64 << 10  # a kind further down than this: parse the document instead


def _skippable(chunk: str, keep: frozenset[str]) -> bool:
    """Whether this one document's top-level kind is, beyond doubt, one never judged."""
    match = _KIND.search(chunk)
    if match is None:
        return False
    kind = match.group(2)
    if kind in keep:
        return False
    if kind == _CONFIG_MAP:
        if may_name_kubelet_config_map(chunk):
            return False
    elif kind not in SKIP_KINDS or (kind != _CRD and "containers" in chunk):
        return False
    if "\x85" in chunk or "\u2028" in chunk or "\u2029" in chunk or "\ufeff" in chunk \
            or ("\r" in chunk and _LONE_CR.search(chunk)):
        return False  # line breaks (or a BOM) that only libyaml would see
    end = match.end()
    if _CONTINUED.match(chunk, end) or _MAYBE_KIND_AGAIN.search(chunk, end):
        return False
    start = match.start()
    if _SIMPLE_PREFIX.fullmatch(chunk, 0, start):
        return True
    if start > _PREFIX_PARSE_LIMIT:
        return False
    # Anything else before the kind line (a flow collection, a quoted or block scalar that
    # may hold a line `kind: ...`): parsed, the kind line must be the root mapping's key.
    prefix = chunk[:end]
    docs = list(iter_documents(prefix))
    if len(docs) != 1 or docs[0].problems:
        return False
    data = docs[0].data
    return isinstance(data, dict) and data.get("kind") == kind and \
        getattr(data, "key_pos", {}).get("kind") == (prefix.count("\n") + 1, 1)


def blank_irrelevant(text: str, keep_kinds: Iterable[str] = ()) -> tuple[str, int]:
    """The text with irrelevant documents blanked out, and how many were blanked."""
    if "kind:" not in text:
        return text, 0
    keep = frozenset(keep_kinds)
    starts = [m.start() for m in DOCUMENT_START.finditer(text)]
    bounds = [0, *starts, len(text)] if not starts or starts[0] != 0 else [*starts, len(text)]
    pieces: list[str] = []
    blanked = 0
    for begin, end in zip(bounds, bounds[1:], strict=False):
        chunk = text[begin:end]
        if _skippable(chunk, keep):
            # keep a bare `---` so document boundaries stay where they were
            head = "---" if chunk.startswith("---") else ""
            pieces.append(head + "\n" * chunk.count("\n"))
            blanked += 1
        else:
            pieces.append(chunk)
    if not blanked:
        return text, 0
    return "".join(pieces), blanked
