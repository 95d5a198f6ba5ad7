"""Which kind of node file a text is, by its content."""

from __future__ import annotations

import re

from oomguard.policies.node.flags import KUBELET_FLAG_FILE_HINT, MEMORY_FLAG_HINT
from oomguard.policies.node.sysctl import looks_like_sysctl

INPUT_TYPES = ("kubelet-config", "kubelet-flags", "sysctl")
_KUBELET_CONFIG = re.compile(
    r"^kind:[ \t]*[\"']?KubeletConfiguration[\"']?[ \t]*(?:#.*)?$"
    r"|\"kind\"[ \t]*:[ \t]*\"KubeletConfiguration\"", re.MULTILINE)


def detect_text_type(text: str) -> str | None:
    """``kubelet-config`` (a KubeletConfiguration, e.g. a ``*.conf`` drop-in),
    ``kubelet-flags`` (a memory-related kubelet flag, a ``KUBELET_*ARGS=`` variable or a
    kubelet ``ExecStart=``) or ``sysctl``; None for anything else."""
    if _KUBELET_CONFIG.search(text):
        return "kubelet-config"
    if MEMORY_FLAG_HINT.search(text) or KUBELET_FLAG_FILE_HINT.search(text):
        return "kubelet-flags"
    if looks_like_sysctl(text):
        return "sysctl"
    return None


def looks_like_node_text(text: str) -> bool:
    """Cheap content check for ``*.conf``/``*.env`` files found by a directory walk."""
    return detect_text_type(text) is not None
