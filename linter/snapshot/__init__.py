"""Snapshots of a cluster for ``oomguard diagnose`` and ``oomguard audit``: I/O at the edge.

API (stable; add, don't rename)::

    from oomguard.linter.snapshot import load_files, live_snapshot

    snap = load_files(paths, max_file_size=256 << 20, year=None)
        # paths: files, directories (walked, hidden entries skipped) and "-" (stdin).
        # Content decides what a file is: JSON (kubectl -o json: a v1 List or one object),
        # YAML (kubectl -o yaml, several documents), or a kernel log (dmesg, dmesg -T,
        # journalctl -k). A truncated List keeps the items before the cut (an error names
        # the line); items of kinds nothing reads are one notice per file.
    snap = live_snapshot(client, namespace=None, page_size=500, kubelet_configs=True)
        # client: oomguard.linter.kube.KubeClient; namespace None = all namespaces.
        # Nodes, LimitRanges, events (events.k8s.io/v1 and v1) and pods are generators
        # streaming pages (iterate each once, in the Snapshot's order); owners and node
        # kubelet configuration (configz) are fetched only for the pods that hold incidents.
        # GET only. A refused or failed list is an error in snap.errors (the rest is still
        # read).

    snap: oomguard.policies.incidents.snapshot.Snapshot
        .nodes .limit_ranges .owners .events [(obj, source)] .pods [(obj, source)]
        .kernel_logs [(KernelLog, node_hint)] .kubelet_configs {node: config}
        .errors .notices [Problem(source, message, line, column)]
        .owner_lookup .kubelet_config_lookup .source
    OWNER_KINDS      # the kinds kept as owners
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from oomguard.linter.snapshot.files import OWNER_KINDS, load_files

if TYPE_CHECKING:
    from oomguard.linter.snapshot.live import live_snapshot

__all__ = ["OWNER_KINDS", "live_snapshot", "load_files"]


def __getattr__(name: str) -> Any:
    # live_snapshot on first use: it brings the API client (~6 ms), which file input never
    # needs (PEP 562)
    if name == "live_snapshot":
        from oomguard.linter.snapshot.live import live_snapshot

        return live_snapshot
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
