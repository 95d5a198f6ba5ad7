"""Owner-aware auditing: judge a live object only where its pods are decided.

A Deployment creates ReplicaSets, which create Pods (pkg/controller/deployment and
pkg/controller/replicaset set ``ownerReferences[].controller: true`` on what they create);
a CronJob creates Jobs, which create Pods (pkg/controller/cronjob, pkg/controller/job);
StatefulSets and DaemonSets create Pods directly; Argo Rollouts create ReplicaSets. Fixing
a finding means editing the top controller's template, so the finding is reported once,
there: an object whose controller is itself a pod-bearing kind (built in or mapped under
``kinds:`` in the policy) is not judged on its own. Pods without a controller, and pods
whose controller is no pod-bearing kind (a static pod's mirror is controlled by its
Node; an operator's custom resource that is not mapped), are judged themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from oomguard.policies.kinds import BUILTIN_POD_KINDS, POD_TEMPLATE_PATHS


class OwnerRef(NamedTuple):
    api_version: str | None
    kind: str
    name: str | None
    uid: str | None


def controller_of(obj: Mapping[str, Any]) -> OwnerRef | None:
    """The ownerReference with ``controller: true`` (at most one exists: the API server
    validates that, ValidateOwnerReferences in apimachinery's validation.go)."""
    meta = obj.get("metadata")
    refs = meta.get("ownerReferences") if isinstance(meta, dict) else None
    if not isinstance(refs, list):
        return None
    for ref in refs:
        if isinstance(ref, dict) and ref.get("controller") is True and ref.get("kind"):
            name, uid = ref.get("name"), ref.get("uid")
            return OwnerRef(None if ref.get("apiVersion") is None else str(ref["apiVersion"]),
                            str(ref["kind"]), None if name is None else str(name),
                            None if uid is None else str(uid))
    return None


def _group(api_version: str | None) -> str:
    """``apps/v1`` -> ``apps``; ``v1`` -> ``""`` (the core group)."""
    if not api_version:
        return ""
    return api_version.rpartition("/")[0]


def pod_bearing_owner(owner: OwnerRef, kinds: Sequence[Mapping[str, Any]] = ()) -> bool:
    """Whether ``owner`` is a kind whose template oomguard judges (so what it owns is
    judged through it)."""
    for mapping in kinds:
        if mapping.get("kind") != owner.kind:
            continue
        wanted = mapping.get("apiVersion")
        # an owner reference names any served version; the group is what identifies the kind
        if wanted is None or owner.api_version is None or \
                _group(str(wanted)) == _group(owner.api_version):
            return True
    if owner.kind in ("Pod", "PodTemplate"):
        return False
    if owner.api_version is None:
        return owner.kind in POD_TEMPLATE_PATHS
    return (owner.api_version, owner.kind) in BUILTIN_POD_KINDS


def judged_through_owner(obj: Mapping[str, Any], kinds: Sequence[Mapping[str, Any]] = ()
                         ) -> OwnerRef | None:
    """The controller that answers for ``obj``, or None when ``obj`` is judged itself."""
    owner = controller_of(obj)
    if owner is not None and pod_bearing_owner(owner, kinds):
        return owner
    return None
