"""The ignore annotation: ``oomguard.io/ignore: "CODE-or-name, ..."`` on an object or its pod
template, with an optional ``oomguard.io/ignore-reason``. Parsed here only; workloads, HPAs and
the kubelet's ConfigMap all read it through :func:`annotation_suppressions`. (Comments,
``# oomguard: ignore=...``, are the node files' own: policies/node/subjects.py.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oomguard.policies.rule import Path, Suppression

IGNORE_ANNOTATION = "oomguard.io/ignore"
IGNORE_REASON_ANNOTATION = "oomguard.io/ignore-reason"


def annotation_suppressions(annotations: Mapping[str, Any], meta_path: Path = ("metadata",),
                            position: tuple[int | None, int | None] = (None, None),
                            ) -> list[Suppression]:
    """One suppression per rule the annotation names; ``meta_path`` is where the metadata
    holding ``annotations`` sits, ``position`` the annotation's line and column if known."""
    text = annotations.get(IGNORE_ANNOTATION)
    if not text:
        return []
    reason = annotations.get(IGNORE_REASON_ANNOTATION)
    reason = None if reason is None else str(reason)
    where = (*meta_path, "annotations", IGNORE_ANNOTATION)
    line, column = position
    return [Suppression(token.strip(), reason, where, line, column)
            for token in str(text).split(",") if token.strip()]
