"""Node subjects from YAML/JSON documents: KubeletConfiguration (standalone or beside kubeadm
documents, with their ``nodeRegistration.kubeletExtraArgs``), and ConfigMap
kube-system/kubelet-config (what kubeadm stores in the cluster)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from oomguard.policies.ignores import IGNORE_ANNOTATION, annotation_suppressions
from oomguard.policies.kinds import (
    KUBEADM_API_PREFIX,
    KUBEADM_KINDS,
    KUBELET_CONFIG_API_PREFIX,
    is_kubelet_config_map,
)
from oomguard.policies.node.flags import FlagOverlay, apply_flags, flags_from_kubeadm
from oomguard.policies.node.kubelet import KubeletSettings, settings_from_config
from oomguard.policies.node.subjects import KubeletSubject, Position, comment_suppressions
from oomguard.policies.positions import locate as locate_in
from oomguard.policies.rule import ObjectRef, Suppression

_DOC_SEPARATOR = re.compile(r"^---(?:[ \t].*)?$")
_KUBELET_CONFIG_KIND = re.compile(r"^kind:[ \t]*[\"']?KubeletConfiguration\b", re.MULTILINE)
_BLOCK_HEADER = re.compile(r"\s*([|>])([1-9]?)[-+]?([1-9]?)\s*(?:#.*)?$")


class NodeInputError(ValueError):
    """Node configuration that cannot be read at all; carries a position in the file."""

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def basename(file: str | None) -> str | None:
    return os.path.basename(file) if file else None


def _pos(node: Any) -> Position | None:
    pos = getattr(node, "pos", None)
    return pos if pos and pos != (0, 0) else None


def document_span(text: str, line: int) -> tuple[int, int]:
    """First and last line of the YAML document holding ``line``, ``---`` lines excluded."""
    first, last = 1, text.count("\n") + 1
    for number, content in enumerate(text.splitlines(), 1):
        if _DOC_SEPARATOR.match(content):
            if number < line:
                first = number + 1
            elif number > line:
                last = number - 1
                break
    return first, last


def _document_suppressions(doc: Mapping[str, Any], text: str | None) -> list[Suppression]:
    start = _pos(doc)
    if not text:
        return []
    if start is None:
        return comment_suppressions(text)
    return comment_suppressions(text, *document_span(text, start[0]))


def _annotation_suppressions(obj: Mapping[str, Any]) -> list[Suppression]:
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict):
        return []
    where = locate_in(obj, ("metadata", "annotations", IGNORE_ANNOTATION)) or (None, None)
    return annotation_suppressions(annotations, position=where)


def _kubeadm_extra_args(text: str | None) -> tuple[str, Any, bool] | None:
    """The kubeletExtraArgs with memory flags of the kubeadm documents of the same file:
    InitConfiguration's first, else JoinConfiguration's; and whether a JoinConfiguration's
    were passed over."""
    if not text or "kubeletExtraArgs" not in text:
        return None
    from oomguard.policies.source import iter_documents  # the YAML parser, only when needed

    found: dict[str, Any] = {}
    for doc in iter_documents(text):
        data = doc.data
        if not isinstance(data, dict) or data.get("kind") not in ("InitConfiguration",
                                                                   "JoinConfiguration"):
            continue
        if not str(data.get("apiVersion") or "").startswith(KUBEADM_API_PREFIX):
            continue
        registration = data.get("nodeRegistration")
        args = registration.get("kubeletExtraArgs") if isinstance(registration, dict) else None
        if flags_from_kubeadm(args):
            found.setdefault(str(data["kind"]), args)
    for kind in ("InitConfiguration", "JoinConfiguration"):
        if kind in found:
            return kind, found[kind], kind == "InitConfiguration" and len(found) > 1
    return None


def kubelet_subject(doc: Mapping[str, Any], file: str | None, text: str | None, *,
                    complete: bool = True) -> KubeletSubject:
    """A KubeletConfiguration document, with the kubeadm kubeletExtraArgs of its file."""
    settings = settings_from_config(doc)
    settings.complete = complete
    overlay = FlagOverlay()
    describe = "KubeletConfiguration"
    extra = _kubeadm_extra_args(text)
    if extra is not None:
        kind, args, passed_over = extra
        overlay = apply_flags(settings, flags_from_kubeadm(args))
        describe = f"KubeletConfiguration with {kind} nodeRegistration.kubeletExtraArgs"
        if passed_over:
            describe += " (the JoinConfiguration's kubeletExtraArgs are not applied)"
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return KubeletSubject(
        settings, ObjectRef(str(doc.get("apiVersion")), "KubeletConfiguration", None,
                            str(name) if name is not None else basename(file)),
        file, root=doc, overlay=overlay, default_position=_pos(doc),
        suppression_list=_document_suppressions(doc, text), describe=describe)


def _kubeadm_subjects(doc: Mapping[str, Any], file: str | None, text: str | None
                      ) -> list[KubeletSubject]:
    """kubeletExtraArgs of an Init/JoinConfiguration in a file without a
    KubeletConfiguration. ``kubeadm init`` generates a KubeletConfiguration that sets no
    memory field, so the flags apply over the kubelet's defaults; ``kubeadm join`` takes the
    cluster's kubelet-config ConfigMap, so only what the flags set is known."""
    registration = doc.get("nodeRegistration")
    args = registration.get("kubeletExtraArgs") if isinstance(registration, dict) else None
    flags = flags_from_kubeadm(args)
    if not flags or (text and _KUBELET_CONFIG_KIND.search(text)):
        return []  # nothing to lint, or merged into the KubeletConfiguration beside it
    kind = str(doc.get("kind"))
    settings = KubeletSettings(complete=kind == "InitConfiguration")
    overlay = apply_flags(settings, flags)
    return [KubeletSubject(
        settings, ObjectRef(str(doc.get("apiVersion")), kind, None, basename(file)), file,
        overlay=overlay, default_position=_pos(args) or _pos(doc),
        suppression_list=_document_suppressions(doc, text),
        describe=f"{kind} nodeRegistration.kubeletExtraArgs over " + (
            "the kubelet's defaults" if settings.complete else
            "the cluster's kubelet-config ConfigMap"))]


def is_kubelet_config_map_object(obj: Mapping[str, Any]) -> bool:
    meta = obj.get("metadata")
    return isinstance(meta, dict) and is_kubelet_config_map(
        obj.get("apiVersion"), obj.get("kind"), meta.get("namespace"), meta.get("name"))


def _block_shift(text: str | None, key_pos: Position | None
                 ) -> Callable[[Position], Position] | None:
    """How positions inside the ``kubelet`` string map onto the file: a literal block
    (``kubelet: |``) keeps its lines, shifted down and right; any other scalar style is
    pinned to the key."""
    if key_pos is None:
        return None
    key_line, key_column = key_pos
    lines = text.splitlines() if text else []
    header = lines[key_line - 1] if 0 < key_line <= len(lines) else ""
    after = header[key_column - 1:].partition(":")[2]
    block = _BLOCK_HEADER.match(after)
    if block is None or block.group(1) != "|":
        return lambda _pos: key_pos
    indicator = block.group(2) or block.group(3)
    if indicator:
        indent = len(header) - len(header.lstrip()) + int(indicator)
    else:
        indent = next((len(line) - len(line.lstrip()) for line in lines[key_line:]
                       if line.strip()), 0)
    return lambda pos: (pos[0] + key_line, pos[1] + indent)


def config_map_subjects(obj: Mapping[str, Any], file: str | None, text: str | None
                        ) -> list[KubeletSubject]:
    """ConfigMap kube-system/kubelet-config: the KubeletConfiguration in ``data.kubelet``."""
    data = obj.get("data")
    raw = data.get("kubelet") if isinstance(data, dict) else None
    if raw is None:
        return []
    key_pos = getattr(data, "key_pos", {}).get("kubelet")
    if not isinstance(raw, str):
        line, column = key_pos or (None, None)
        raise NodeInputError("ConfigMap kube-system/kubelet-config: data.kubelet must be a "
                             "string holding a KubeletConfiguration", line, column)
    shift = _block_shift(text, key_pos)

    def place(line: int | None, column: int | None) -> tuple[int | None, int | None]:
        if shift is None or line is None:
            return line, column
        return shift((line, column or 1))

    ref = ObjectRef(str(obj.get("apiVersion")), "ConfigMap",
                    str((obj.get("metadata") or {}).get("namespace") or "kube-system"),
                    str((obj.get("metadata") or {}).get("name")))
    from oomguard.policies.source import iter_documents  # the YAML parser, only when needed

    subjects: list[KubeletSubject] = []
    for doc in iter_documents(raw):
        if doc.data is None:
            if doc.problems:
                problem = doc.problems[0]
                where = f" (line {problem.line}, column {problem.column} of data.kubelet)" \
                    if problem.line else ""
                raise NodeInputError(
                    f"ConfigMap {ref.namespace}/{ref.name}: the `kubelet` key is not YAML"
                    f"{where}: {problem.message}", *place(problem.line, problem.column))
            continue
        if not isinstance(doc.data, dict) or doc.data.get("kind") not in (
                None, "KubeletConfiguration"):
            what = doc.data.get("kind") if isinstance(doc.data, dict) else \
                type(doc.data).__name__
            raise NodeInputError(f"ConfigMap {ref.namespace}/{ref.name}: the `kubelet` key "
                                 f"holds a {what}, not a KubeletConfiguration",
                                 *place(doc.line or 1, 1))
        suppressions = _annotation_suppressions(obj)
        seen = {(s.token, s.line) for s in suppressions}
        embedded = comment_suppressions(raw, shift=shift)
        outer = _document_suppressions(obj, text) if _pos(obj) else []
        for sup in outer + embedded:
            if (sup.token, sup.line) not in seen:
                seen.add((sup.token, sup.line))
                suppressions.append(sup)
        root_pos = _pos(doc.data)
        subjects.append(KubeletSubject(
            settings_from_config(doc.data), ref, file, root=doc.data,
            default_position=shift(root_pos) if shift and root_pos else _pos(obj),
            shift=shift, suppression_list=suppressions,
            describe=f"ConfigMap {ref.namespace}/{ref.name} data.kubelet"))
    return subjects


def subjects_from_document(data: Any, file: str | None, text: str | None = None
                           ) -> list[KubeletSubject] | None:
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    if kind is not None and not isinstance(kind, str):  # a mapping cannot be looked up
        line, column = getattr(data, "key_pos", {}).get("kind") or _pos(data) or (None, None)
        what = "a mapping" if isinstance(kind, dict) else "a sequence" if isinstance(kind, list) \
            else type(kind).__name__
        raise NodeInputError(f"kind must be a string, not {what}", line, column)
    api_version = str(data.get("apiVersion") or "")
    if kind == "KubeletConfiguration" and api_version.startswith(KUBELET_CONFIG_API_PREFIX):
        return [kubelet_subject(data, file, text)]
    if kind in KUBEADM_KINDS and api_version.startswith(KUBEADM_API_PREFIX):
        return [] if kind == "ClusterConfiguration" else _kubeadm_subjects(data, file, text)
    if is_kubelet_config_map_object(data):
        return config_map_subjects(data, file, text)
    return None
