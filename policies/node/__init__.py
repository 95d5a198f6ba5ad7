"""Node configuration inputs: KubeletConfiguration, kubelet flags, sysctl files.

The engine reaches this package through :mod:`policies.node_hooks` (YAML documents) and the
linter through :func:`subjects_from_text` (other files).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from policies.model import as_mapping
from policies.node.flags import NODE_FLAG_HINT, parse_flags, settings_from_flags
from policies.node.kubelet import settings_from_config
from policies.node.subjects import KubeletSubject, SysctlEntry, SysctlSubject
from policies.rule import ObjectRef, Suppression
from policies.source import SourceProblem, iter_documents

__all__ = ["subjects_from_document", "subjects_from_text", "looks_like_node_text",
           "KubeletSubject", "SysctlSubject"]

KUBELET_API_GROUP = "kubelet.config.k8s.io/"
KUBEADM_KINDS = frozenset({"InitConfiguration", "JoinConfiguration", "ClusterConfiguration"})
INPUT_TYPES = ("kubelet-config", "kubelet-flags", "sysctl")
_SYSCTL_LINE = re.compile(r"^\s*-?\s*([A-Za-z0-9_][A-Za-z0-9_.\/*-]*)\s*=\s*(.*?)\s*$")
_SYSCTL_PREFIXES = ("vm.", "kernel.", "net.", "fs.", "user.", "dev.", "abi.", "debug.")


def _ref(kind: str, file: str | None, name: str | None = None) -> ObjectRef:
    return ObjectRef(None, kind, None, name or (os.path.basename(file) if file else None))


def _kubelet_subject(doc: Mapping[str, Any], file: str | None, text: str | None,
                     line_offset: int = 0, ref: ObjectRef | None = None,
                     extra: list[Suppression] | None = None) -> KubeletSubject:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else None
    name = meta.get("name") if meta else None
    return KubeletSubject(
        settings_from_config(doc),
        ref or ObjectRef(str(doc.get("apiVersion")), "KubeletConfiguration", None,
                         str(name) if name is not None else
                         (os.path.basename(file) if file else None)),
        file, root=doc, line_offset=line_offset,
        default_position=(getattr(doc, "pos", (1, 1))[0] + line_offset, 1),
        extra_suppressions=extra or [], text=text)


def is_kubelet_config_map(obj: Mapping[str, Any]) -> bool:
    meta = obj.get("metadata")
    return (obj.get("kind") == "ConfigMap" and isinstance(meta, dict)
            and meta.get("name") == "kubelet-config"
            and meta.get("namespace") in ("kube-system", None))


def subjects_from_document(data: Any, file: str | None, text: str | None = None
                           ) -> list[Any] | None:
    """Node subjects of one YAML/JSON document; None when it is not node configuration."""
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    api_version = str(data.get("apiVersion") or "")
    if kind == "KubeletConfiguration" and api_version.startswith(KUBELET_API_GROUP):
        return [_kubelet_subject(data, file, text)]
    if kind in KUBEADM_KINDS and api_version.startswith("kubeadm.k8s.io/"):
        return []  # recognised; the KubeletConfiguration beside it carries the settings
    if is_kubelet_config_map(data):
        return _config_map_subjects(data, file, text)
    return None


def _config_map_subjects(obj: Mapping[str, Any], file: str | None, text: str | None
                         ) -> list[Any]:
    """ConfigMap kube-system/kubelet-config: the KubeletConfiguration in its `kubelet` key."""
    data = obj.get("data")
    raw = data.get("kubelet") if isinstance(data, dict) else None
    meta = as_mapping(obj.get("metadata"))
    ref = ObjectRef(str(obj.get("apiVersion")), "ConfigMap", "kube-system", "kubelet-config")
    annotations = as_mapping(meta.get("annotations"))
    extra = [Suppression(t.strip(), annotations.get("oomguard.io/ignore-reason"),
                         ("metadata", "annotations", "oomguard.io/ignore"))
             for t in str(annotations.get("oomguard.io/ignore") or "").split(",") if t.strip()]
    if not isinstance(raw, str):
        return []
    key_line = 0
    key_pos = getattr(data, "key_pos", {}).get("kubelet")
    if key_pos is not None:
        key_line = key_pos[0]
        if text is not None:
            lines = text.splitlines()
            header = lines[key_line - 1] if 0 < key_line <= len(lines) else ""
            after = header.split(":", 1)[-1].strip()
            if not after.startswith(("|", ">")):
                key_line -= 1  # a flow scalar: its first line is the key's own line
    subjects: list[Any] = []
    for doc in iter_documents(raw):
        if doc.problems and doc.data is None:
            problem = doc.problems[0]
            raise NodeInputError(f"ConfigMap kube-system/kubelet-config: the `kubelet` key "
                                 f"is not YAML: {problem.message}",
                                 (problem.line or 0) + key_line, problem.column)
        if isinstance(doc.data, dict):
            # the embedded text carries its own `# oomguard: ignore=` comments
            subjects.append(_kubelet_subject(doc.data, file, raw, key_line, ref, extra))
    return subjects


class NodeInputError(ValueError):
    """Node configuration that cannot be read; carries a position in the file."""

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def looks_like_node_text(text: str) -> bool:
    return detect_text_type(text) is not None


def detect_text_type(text: str) -> str | None:
    if NODE_FLAG_HINT.search(text):
        return "kubelet-flags"
    for line in text.splitlines():
        match = _SYSCTL_LINE.match(line)
        if match and match[1].replace("/", ".").startswith(_SYSCTL_PREFIXES):
            return "sysctl"
    return None


def parse_sysctl(text: str, file: str | None) -> tuple[SysctlSubject, list[SourceProblem]]:
    entries: list[SysctlEntry] = []
    problems: list[SourceProblem] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        match = _SYSCTL_LINE.match(line)
        if not match:
            problems.append(SourceProblem(f"not a sysctl setting (`key = value`): "
                                          f"{stripped[:60]!r}", number, 1))
            continue
        key = match[1]
        if "/" in key and "." not in key.split("/")[0]:
            key = key.replace("/", ".")  # sysctl.d(5): slashes and dots are interchangeable
        entries.append(SysctlEntry(key, match[2], number, line.index(match[1]) + 1))
    return SysctlSubject(entries, _ref("Sysctl", file), file, text=text), problems


def subjects_from_text(text: str, file: str | None, input_type: str | None = None
                       ) -> tuple[list[Any], list[SourceProblem]] | None:
    """Node subjects of a non-manifest file; None when it is no node configuration."""
    kind = input_type or detect_text_type(text)
    if kind is None or kind == "manifest":
        return None
    if kind == "sysctl":
        sysctl, problems = parse_sysctl(text, file)
        return [sysctl], problems
    if kind == "kubelet-flags":
        flags, problems = parse_flags(text)
        settings, where = settings_from_flags(flags)
        first = min(where.values()) if where else (1, 1)
        subject = KubeletSubject(settings, _ref("KubeletFlags", file), file,
                                 flag_positions=where, default_position=first, text=text)
        return [subject], problems
    # kubelet-config forced on a file: YAML documents holding a KubeletConfiguration
    subjects: list[Any] = []
    problems = []
    for doc in iter_documents(text):
        problems.extend(doc.problems)
        if isinstance(doc.data, dict):
            try:
                found = subjects_from_document(doc.data, file, text)
            except NodeInputError as exc:
                problems.append(SourceProblem(str(exc), exc.line, exc.column))
                continue
            if found is None and doc.data.get("kind") is None:
                found = [_kubelet_subject(doc.data, file, text)]
            subjects.extend(found or [])
    return subjects, problems
