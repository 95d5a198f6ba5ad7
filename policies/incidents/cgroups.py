"""Kernel cgroup paths -> the pod UID, the container ID and the level the path names.

The kubelet names pod cgroups in pkg/kubelet/cm/cgroup_manager_linux.go (kubernetes/
kubernetes): under the cgroupfs driver a CgroupName ``[kubepods, burstable, pod<uid>]`` is
``/kubepods/burstable/pod<uid>``; under systemd each component becomes a nested slice named
after all its ancestors, with ``-`` in the UID escaped to ``_`` (escapeSystemdCgroupName):
``/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice``.
Guaranteed pods sit directly under kubepods (pkg/kubelet/cm/qos_container_manager_linux.go
creates only the burstable and besteffort QoS cgroups). The container's own cgroup is the
runtime's: containerd ``cri-containerd-<id>.scope`` (systemd) or ``<id>`` (cgroupfs), CRI-O
``crio-<id>.scope`` (its monitor ``crio-conmon-<id>.scope``), cri-dockerd ``docker-<id>.scope``.
Some distributions nest the whole tree (k3s ``/system.slice/k3s.service/kubepods/...``, kind
``/kubelet.slice/kubelet-kubepods.slice/...``), so the kubepods part is searched, not anchored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONTAINER = "container"
POD = "pod"
QOS = "qos"          # /kubepods/burstable, kubepods-besteffort.slice
KUBEPODS = "kubepods"  # the node's pods cgroup: node allocatable
ROOT = "root"        # "/": the whole machine
OTHER = "other"      # system.slice, user.slice, ...: not a pod

_POD_CGROUPFS = re.compile(r"^pod([0-9a-fA-F][0-9a-fA-F-]{7,})$")
_POD_SYSTEMD = re.compile(r"^(?:[\w-]*-)?kubepods(?:-(burstable|besteffort))?-pod([0-9a-fA-F_]{8,})"
                          r"\.slice$")
_QOS_SYSTEMD = re.compile(r"^(?:[\w-]*-)?kubepods-(burstable|besteffort)\.slice$")
_KUBEPODS = re.compile(r"^(?:[\w-]*-)?kubepods(?:\.slice)?$")
_SCOPE = re.compile(r"^(cri-containerd|crio-conmon|crio|docker)-([0-9a-f]{12,64})\.scope$")
_BARE_ID = re.compile(r"^[0-9a-f]{64}$")
_RUNTIME = {"cri-containerd": "containerd", "crio": "cri-o", "crio-conmon": "cri-o-conmon",
            "docker": "docker"}


@dataclass(frozen=True)
class CgroupRef:
    path: str
    level: str
    pod_uid: str | None = None
    container_id: str | None = None
    qos: str | None = None       # "burstable", "besteffort", "guaranteed" (pod level and below)
    driver: str | None = None    # "systemd" or "cgroupfs"
    runtime: str | None = None   # "containerd", "cri-o", "docker" when the name tells

    @property
    def in_kubepods(self) -> bool:
        return self.level in (CONTAINER, POD, QOS, KUBEPODS)


def parse_cgroup(path: str) -> CgroupRef:
    """What a memcg path from the kernel log names (never raises)."""
    clean = path.strip()
    if clean in ("", "/"):
        return CgroupRef(clean or "/", ROOT)
    parts = [p for p in clean.split("/") if p]
    start = next((i for i, p in enumerate(parts) if _KUBEPODS.match(p)), None)
    if start is None:
        return CgroupRef(clean, OTHER)
    driver = "systemd" if parts[start].endswith(".slice") else "cgroupfs"
    level, qos, uid, cid, runtime = KUBEPODS, None, None, None, None
    for part in parts[start + 1:]:
        if level == KUBEPODS and part in ("burstable", "besteffort"):
            level, qos = QOS, part
            continue
        match = _QOS_SYSTEMD.match(part)
        if level == KUBEPODS and match:
            level, qos = QOS, match.group(1)
            continue
        match = _POD_SYSTEMD.match(part)
        if level in (KUBEPODS, QOS) and match:
            level, uid = POD, match.group(2).replace("_", "-")
            qos = match.group(1) or qos or "guaranteed"
            continue
        match = _POD_CGROUPFS.match(part)
        if level in (KUBEPODS, QOS) and match:
            level, uid, qos = POD, match.group(1), qos or "guaranteed"
            continue
        if level == POD:
            scope = _SCOPE.match(part)
            if scope:
                runtime, cid = _RUNTIME[scope.group(1)], scope.group(2)
                level = CONTAINER
                continue
            if _BARE_ID.match(part):
                level, cid = CONTAINER, part
                continue
        if level == CONTAINER:
            continue  # a runtime's sub-cgroup (rare): still the container
        break
    return CgroupRef(clean, level, uid, cid, qos, driver, runtime)


def runtime_container_id(container_id: str | None) -> str | None:
    """``containerd://abc`` (pod status) -> ``abc``, as it appears in cgroup names."""
    if not container_id:
        return None
    return container_id.rsplit("://", 1)[-1] or None
