"""The ``oomguard`` command line: lint manifests, Helm charts and node configuration."""

from __future__ import annotations
