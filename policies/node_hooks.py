"""The engine's door to the node rules (policies.node), imported only when present."""

from __future__ import annotations

from typing import Any

from oomguard.policies.kinds import NODE_CONFIG_KINDS
from oomguard.policies.positions import SourceProblem


def subjects_from_document(obj: Any, file: str | None, text: str | None
                           ) -> list[Any] | SourceProblem | None:
    """Node subjects of a YAML/JSON document; None when it is no node configuration; a
    SourceProblem when it is one that cannot be read (a ConfigMap whose `kubelet` key is
    not YAML)."""
    if not hasattr(obj, "get"):
        return None
    kind = obj.get("kind")
    if type(kind) is not str or kind not in NODE_CONFIG_KINDS:  # (a list or map kind: not ours)
        return None
    from oomguard.policies import node

    try:
        return node.subjects_from_document(obj, file, text)
    except node.NodeInputError as exc:
        return SourceProblem(str(exc), exc.line, exc.column)
