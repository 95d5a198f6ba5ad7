"""Node configuration inputs: KubeletConfiguration, kubelet flags, sysctl files.

Public API (what the engine and the linter call):

- :func:`subjects_from_document` for one parsed YAML/JSON document;
- :func:`subjects_from_text` for other files (flag files, sysctl files, or any text forced
  to an input type);
- :func:`looks_like_node_text` for ``*.conf``/``*.env`` files met in a directory walk.

The engine reaches the first through :mod:`policies.node_hooks`; :class:`NodeInputError`
carries the position of a document that is node configuration but cannot be read.
"""

from __future__ import annotations

import os
from typing import Any

from oomguard.policies.node.detect import INPUT_TYPES, detect_text_type, looks_like_node_text
from oomguard.policies.node.documents import NodeInputError, basename, kubelet_subject
from oomguard.policies.node.documents import subjects_from_document as _subjects_from_document
from oomguard.policies.node.flags import apply_flags, scan_flags
from oomguard.policies.node.kubelet import KubeletSettings
from oomguard.policies.node.subjects import KubeletSubject, SysctlSubject, comment_suppressions
from oomguard.policies.node.sysctl import parse_sysctl
from oomguard.policies.positions import SourceProblem
from oomguard.policies.rule import ObjectRef, Subject

__all__ = ["subjects_from_document", "subjects_from_text", "looks_like_node_text",
           "detect_text_type", "NodeInputError", "KubeletSubject", "SysctlSubject",
           "INPUT_TYPES"]


def subjects_from_document(data: Any, file: str | None, text: str | None = None
                           ) -> list[Subject] | None:
    """Node subjects of one YAML/JSON document (a positional ``Map`` or a plain dict).

    A KubeletConfiguration (``kubelet.config.k8s.io``) or ConfigMap
    kube-system/kubelet-config gives its subjects; kubeadm Init/Join/ClusterConfiguration
    documents give ``[]`` (their ``kubeletExtraArgs`` are applied to the
    KubeletConfiguration of the same file, or linted over the kubelet's defaults when the
    file has none); anything else gives None. ``text`` is the whole file, for
    ``# oomguard: ignore=`` comments and the kubeadm documents beside this one.

    Raises :class:`NodeInputError` for a kubelet-config ConfigMap whose ``kubelet`` key
    is not a YAML KubeletConfiguration.
    """
    found = _subjects_from_document(data, file, text)
    return None if found is None else list(found)


def _is_drop_in(file: str | None) -> bool:
    """A file of a kubelet drop-in directory (``--config-dir``, e.g. kubelet.conf.d): it
    overrides only the fields it sets."""
    if not file:
        return False
    parent = os.path.basename(os.path.dirname(os.path.abspath(file)))
    return parent.endswith(".d")


def _flag_subjects(text: str, file: str | None) -> tuple[list[Subject], list[SourceProblem]]:
    scan = scan_flags(text)
    settings = KubeletSettings(complete=scan.complete, config_file=scan.config_file)
    overlay = apply_flags(settings, scan.flags)
    first = scan.invocation or (scan.flags[0].position if scan.flags else (1, 1))
    if scan.complete:
        describe = "kubelet command line"
    elif scan.config_file:
        describe = f"kubelet flags over the config file {scan.config_file}"
    else:
        describe = "kubelet flags (fields they do not set come from elsewhere)"
    subject = KubeletSubject(settings, ObjectRef(None, "KubeletFlags", None, basename(file)),
                             file, overlay=overlay, default_position=first,
                             suppression_list=comment_suppressions(text), describe=describe)
    return [subject], list(scan.problems)


def _sysctl_subjects(text: str, file: str | None) -> tuple[list[Subject], list[SourceProblem]]:
    entries, problems = parse_sysctl(text)
    subject = SysctlSubject(entries, ObjectRef(None, "Sysctl", None, basename(file)), file,
                            comment_suppressions(text))
    return [subject], problems


def _config_subjects(text: str, file: str | None
                     ) -> tuple[list[Subject], list[SourceProblem]]:
    from oomguard.policies.source import iter_documents  # the YAML parser, only when needed

    subjects: list[Subject] = []
    problems: list[SourceProblem] = []
    drop_in = _is_drop_in(file)
    for doc in iter_documents(text):
        problems.extend(doc.problems)
        data = doc.data
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(SourceProblem(f"the document is a {type(data).__name__}, not a "
                                          "KubeletConfiguration", doc.line or None, 1))
            continue
        try:
            found = _subjects_from_document(data, file, text)
        except NodeInputError as exc:
            problems.append(SourceProblem(str(exc), exc.line, exc.column))
            continue
        if found is None and data.get("kind") is None:
            found = [kubelet_subject(data, file, text)]  # forced: a bare configuration
        if found is None:
            pos = getattr(data, "pos", (doc.line or None, 1))
            problems.append(SourceProblem(f"{data.get('kind')} is not node configuration "
                                          "(a KubeletConfiguration)", pos[0] or None, pos[1]))
            continue
        for subject in found:
            if drop_in and isinstance(subject, KubeletSubject):
                subject.settings.complete = False
                subject.settings.drop_in = True
                subject.describe += " drop-in (overrides only the fields it sets)"
            subjects.append(subject)
    return subjects, problems


def subjects_from_text(text: str, file: str | None, input_type: str | None = None
                       ) -> tuple[list[Subject], list[SourceProblem]] | None:
    """Node subjects of a file that is not read as manifests, and the problems found
    reading it (each with a line); None when the text is no node configuration.

    ``input_type`` forces ``kubelet-config``, ``kubelet-flags`` or ``sysctl``; without it
    the content decides (see :func:`detect_text_type`)."""
    kind = input_type if input_type in INPUT_TYPES else detect_text_type(text) \
        if input_type in (None, "") else None
    if kind == "sysctl":
        return _sysctl_subjects(text, file)
    if kind == "kubelet-flags":
        return _flag_subjects(text, file)
    if kind == "kubelet-config":
        return _config_subjects(text, file)
    return None
