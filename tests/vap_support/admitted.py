"""What the policies are given, and what oomguard's own rules say about the same object.

kube-apiserver decodes an object into its Go type before any admission policy sees it, and
encodes it back for CEL: a null field is gone (omitempty) and a quantity is a string. The
manifests of the tests and the corpus are YAML as written, so :func:`as_admitted` makes
them look like that, and both sides, the policies and the Python rules, judge the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oomguard.policies.config import Policy
from oomguard.policies.engine import Engine
from oomguard.policies.kinds import object_template_path
from oomguard.policies.quantity import quantity_text
from oomguard.policies.vap.objects import KIND_RESOURCES, excluded_namespaces, guess_resource
from oomguard.webhook.review import _owned_by_controller
from tests.vap_support.apiserver import Request

_RESOURCE_LISTS = ("requests", "limits")


def _drop_nulls(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_drop_nulls(v) for v in node if v is not None]
    return node


def _quantities_as_text(resources: Any) -> None:
    if isinstance(resources, dict):
        for key, value in list(resources.items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                resources[key] = quantity_text(value)


def as_admitted(obj: Mapping[str, Any], namespace: str,
                kinds: tuple[Mapping[str, Any], ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = _drop_nulls(dict(obj))
    meta = out.setdefault("metadata", {})
    if isinstance(meta, dict):
        meta["namespace"] = namespace
    _, path = object_template_path(out, kinds)
    template: Any = out
    for part in path or ():
        template = template.get(part) if isinstance(template, dict) else None
    spec = template.get("spec") if isinstance(template, dict) else None
    if not isinstance(spec, dict):
        return out
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(key) or ():
            resources = container.get("resources") if isinstance(container, dict) else None
            if isinstance(resources, dict):
                for kind in _RESOURCE_LISTS:
                    _quantities_as_text(resources.get(kind))
    pod = spec.get("resources")
    if isinstance(pod, dict):
        for kind in _RESOURCE_LISTS:
            _quantities_as_text(pod.get(kind))
    _quantities_as_text(spec.get("overhead"))
    for volume in spec.get("volumes") or ():
        if isinstance(volume, dict) and isinstance(volume.get("emptyDir"), dict):
            _quantities_as_text(volume["emptyDir"])
    return out


def request_for(obj: Mapping[str, Any], namespace: str, operation: str = "CREATE",
                old: Mapping[str, Any] | None = None,
                kinds: tuple[Mapping[str, Any], ...] = ()) -> Request:
    kind = str(obj.get("kind"))
    mapped = next((m for m in kinds if m.get("kind") == kind), None)
    resource = guess_resource(kind) if mapped else KIND_RESOURCES[kind][1]
    return Request(as_admitted(obj, namespace, kinds), resource, namespace, operation,
                   as_admitted(old, namespace, kinds) if old is not None else None)


def python_codes(engine: Engine, request: Request) -> set[str]:
    """The rules oomguard's engine reports for the admitted object, as the webhook would
    judge it on CREATE: nothing in an excluded namespace or for a Pod of a controller that
    was judged already (the policies skip those too)."""
    policy: Policy = engine.policy
    obj = request.object
    assert obj is not None
    if request.namespace in excluded_namespaces(policy):
        return set()
    if obj.get("kind") == "Pod" and not policy.webhook.get("validate-owned-pods") and \
            _owned_by_controller(obj):
        return set()
    result = engine.evaluate_object(
        obj, allow_annotation_ignores=bool(policy.webhook.get("allow-annotation-ignores", True)))
    return set() if result is None else {f.rule for f in result.findings}
