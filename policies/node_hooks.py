"""The engine's door to the node rules (policies.node), imported only when present."""

from __future__ import annotations

from typing import Any

_NODE_KINDS = frozenset({"KubeletConfiguration", "InitConfiguration", "JoinConfiguration",
                         "ClusterConfiguration", "ConfigMap"})


def subjects_from_document(obj: Any, file: str | None, text: str | None) -> list[Any] | None:
    """Node subjects of a YAML/JSON document, or None when it is no node configuration."""
    if not hasattr(obj, "get") or obj.get("kind") not in _NODE_KINDS:
        return None
    try:
        from policies import node
    except ImportError:  # pragma: no cover - the node package is part of the distribution
        return None
    result: list[Any] | None = node.subjects_from_document(obj, file, text)
    return result
