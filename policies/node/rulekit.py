"""Helpers shared by the node rule modules (policies/rules/oom2*.py)."""

from __future__ import annotations

KUBELET_CONFIG_HEADER = """\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
"""

