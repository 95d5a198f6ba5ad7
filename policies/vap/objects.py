"""ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding objects for the rules of a
policy: one policy and one binding per rule, so that each rule's binding can carry its own
``validationActions`` (and, later, one binding per action with a namespace selector).

The policy's parameters are written into the expressions as constants rather than read
from a ``paramKind`` ConfigMap: a missing or malformed parameter object would make every
request fail (``parameterNotFoundAction``), a ConfigMap holds only strings that every
evaluation would parse again, and the policy file stays the one source of truth — the
objects are regenerated from it, as the webhook's ConfigMap is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from oomguard.policies.config import Policy
from oomguard.policies.ignores import IGNORE_ANNOTATION
from oomguard.policies.kinds import BUILTIN_POD_KINDS, POD_TEMPLATE_PATHS, api_group
from oomguard.policies.rule import Rule, Severity
from oomguard.policies.vap import cel
from oomguard.policies.vap.rules import BUILDERS, View

API_VERSION = "admissionregistration.k8s.io/v1"
# admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy is GA (and on by default) from
# Kubernetes 1.30; variables, matchConditions and messageExpression are GA with it, and the
# CEL libraries used (quantity, optional types: 1.28; strings ext v2 with join: 1.29) are in
# the 1.30 base environment (k8s.io/apiserver/pkg/cel/environment/base.go).
MIN_KUBERNETES = "1.30"
NAME_PREFIX = "oomguard-"
ACTIONS = ("deny", "warn", "audit")
OPERATIONS = ["CREATE", "UPDATE"]
# Pod-bearing kinds: (group, resource), and the versions matched per group. The legacy
# group versions are listed too: an old client's request is matched as the server's
# equivalent version anyway (matchPolicy Equivalent), and a server that still serves them
# is judged as well. A version that never served a resource matches nothing.
KIND_RESOURCES: dict[str, tuple[str, str]] = {
    "Pod": ("", "pods"), "PodTemplate": ("", "podtemplates"),
    "ReplicationController": ("", "replicationcontrollers"),
    "ReplicaSet": ("apps", "replicasets"), "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"), "DaemonSet": ("apps", "daemonsets"),
    "Job": ("batch", "jobs"), "CronJob": ("batch", "cronjobs"),
}
GROUP_VERSIONS: dict[str, tuple[str, ...]] = {
    "": ("v1",), "apps": ("v1", "v1beta1", "v1beta2"), "batch": ("v1", "v1beta1"),
}
# extensions/v1beta1 served Deployments, ReplicaSets and DaemonSets until 1.16
LEGACY_EXTENSIONS = ("deployments", "replicasets", "daemonsets")
# An in-place resize is the one subresource the webhook judges (it changes a running Pod).
RESIZE = "pods/resize"
OWNER_KINDS = ("ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController")

assert set(KIND_RESOURCES) == set(POD_TEMPLATE_PATHS), "a pod-bearing kind without a resource"


def _matched(api_version: str, kind: str) -> bool:
    group, resource = KIND_RESOURCES[kind]
    if api_group(api_version) == "extensions":
        return resource in LEGACY_EXTENSIONS
    return api_group(api_version) == group and \
        api_version.rpartition("/")[2] in GROUP_VERSIONS[group]


# every built-in (apiVersion, kind) the linter and the webhook judge is matched here
assert all(_matched(*key) for key in BUILTIN_POD_KINDS), "a judged group version is not matched"


def validation_actions(severity: Severity, action: str) -> list[str]:
    """What a rule's binding does with a violation, as the webhook treats a finding: errors
    follow the action (deny/warn/audit), warnings warn (only audit under ``audit``), and
    infos are only audited (the webhook puts them in audit annotations)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if severity is Severity.ERROR:
        return [action.capitalize()]
    if severity is Severity.WARNING:
        return ["Audit"] if action == "audit" else ["Warn"]
    return ["Audit"]


def guess_resource(kind: str) -> str:
    """The plural resource of a kind, as UnsafeGuessKindToResource guesses it
    (k8s.io/apimachinery/pkg/api/meta/restmapper.go)."""
    singular = kind.lower()
    if singular.endswith("endpoints"):
        return singular
    if singular.endswith("s"):
        return singular + "es"
    if singular.endswith("y"):
        return singular[:-1] + "ies"
    return singular + "s"


def resource_rules(kinds: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    by_group: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for kind, (group, resource) in KIND_RESOURCES.items():
        resources = by_group.setdefault((group, GROUP_VERSIONS[group]), [])
        resources.append(resource)
        if kind == "Pod":
            resources.append(RESIZE)
    by_group[("extensions", ("v1beta1",))] = list(LEGACY_EXTENSIONS)
    for mapping in kinds:  # the policy's mapped kinds (with an apiVersion to match on)
        group, _, version = str(mapping["apiVersion"]).rpartition("/")
        by_group.setdefault((group, (version,)), []).append(guess_resource(str(mapping["kind"])))
    return [{"apiGroups": [group], "apiVersions": list(versions), "operations": OPERATIONS,
             "resources": resources, "scope": "Namespaced"}
            for (group, versions), resources in by_group.items()]


def excluded_namespaces(policy: Policy, extra: Sequence[str] = ()) -> list[str]:
    """The namespaces never judged: the policy's ``exclude.namespaces`` (kube-system when it
    lists none, as the webhook's is_exempt), plus ``extra`` (the chart adds its own)."""
    names = list(policy.exclude_namespaces or ("kube-system",))
    return names + [n for n in extra if n not in names]


def ignore_condition(rule: Rule, kinds: Sequence[Mapping[str, Any]]) -> str:
    """CEL: the object or its pod template names ``rule`` in ``oomguard.io/ignore``.

    A token matches as the catalog looks it up: stripped (Python's whitespace), the code in
    any case or the name exactly (policies.registry.Catalog.get)."""
    name = "".join("\\" + ch if not ch.isalnum() else ch for ch in rule.name)
    regex = (f"(^|,){cel.WHITESPACE}*(?:(?i:{rule.code})|{name}){cel.WHITESPACE}*(,|$)")
    key = cel.string(IGNORE_ANNOTATION)
    sources = [f"object.metadata.?annotations[?{key}].orValue('')",
               f"({cel.template('object', kinds)}).?metadata.?annotations[?{key}].orValue('')"]
    return " || ".join(f"{source}.matches({cel.raw(regex)})" for source in sources)


def owned_pod_condition() -> str:
    """CEL: a Pod made by a controller the webhook judged already (not for a resize)."""
    return ("object.kind == 'Pod' && !(has(request.subResource) && "
            "request.subResource == 'resize') && object.metadata.?ownerReferences.orValue([])"
            ".exists(o, o.?controller.orValue(false) == true && o.?kind.orValue('') in "
            f"{cel.strings(OWNER_KINDS)})")


@dataclass(frozen=True)
class RulePolicy:
    """One rule's policy and binding."""

    rule: Rule
    actions: list[str]
    policy: dict[str, Any]
    binding: dict[str, Any]


@dataclass(frozen=True)
class Bundle:
    """Everything ``oomguard vap`` writes for one policy file."""

    policies: list[RulePolicy] = field(default_factory=list)
    skipped: list[tuple[Rule, str]] = field(default_factory=list)  # enabled, not exported

    def objects(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for item in self.policies:
            out.extend((item.policy, item.binding))
        return out


def object_name(rule: Rule) -> str:
    return f"{NAME_PREFIX}{rule.code.lower()}-{rule.name}"


def _labels(rule: Rule) -> dict[str, str]:
    return {"app.kubernetes.io/part-of": "oomguard", "oomguard.io/rule": rule.code}


def rule_policy(rule: Rule, params: Mapping[str, Any], severity: Severity, policy: Policy,
                action: str, extra_excluded: Sequence[str] = ()) -> RulePolicy:
    settings = policy.webhook
    kinds = [k for k in policy.kinds if k.get("apiVersion")]
    ratchet = bool(settings.get("ratchet", True)) and severity is Severity.ERROR and \
        action == "deny"
    build = BUILDERS[rule.code]
    new = View("object", "", kinds)
    findings = new.define("findings", f"{new.has_spec} ? ({build(new, params)}) : []")
    if ratchet:
        old = View("oldObject", "old_", kinds)
        old_findings = old.define("findings", f"{old.has_spec} ? ({build(old, params)}) : []")
        definitions = new.definitions + old.definitions + [
            ("ratchet", "request.operation == 'UPDATE' && oldObject != null"),
            ("old_keys", f"variables.ratchet ? {old_findings}.map(f, f.key) : []"),
            # the webhook's ratchet: a finding the old object had already is not blocking
            ("violations", f"variables.ratchet ? {findings}.filter(f, !(f.key in "
                           "variables.old_keys)) : " + findings),
        ]
    else:
        definitions = new.definitions + [("violations", findings)]
    prefix = cel.string(f"{rule.code} {rule.name}: ")
    violations = "variables.violations"
    message = (f"{violations}.size() <= 3 ? {violations}.map(f, {prefix} + f.message)"
               f".join('; ') : {prefix} + {violations}[0].message + '; ' + {prefix} + "
               f"{violations}[1].message + '; ' + {prefix} + {violations}[2].message + "
               f"'; and ' + string({violations}.size() - 3) + ' more'")
    conditions = []
    if settings.get("allow-annotation-ignores", True):
        conditions.append({"name": "not-ignored-by-annotation",
                           "expression": f"!({ignore_condition(rule, kinds)})"})
    if not settings.get("validate-owned-pods", False):
        conditions.append({"name": "not-a-pod-of-a-judged-controller",
                           "expression": f"!({owned_pod_condition()})"})
    name = object_name(rule)
    spec: dict[str, Any] = {
        "failurePolicy": "Fail" if settings.get("on-internal-error") == "deny" else "Ignore",
        "matchConstraints": {
            "matchPolicy": "Equivalent",
            "namespaceSelector": {"matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                 "values": excluded_namespaces(policy, extra_excluded)},
                {"key": IGNORE_ANNOTATION, "operator": "NotIn", "values": ["true"]},
            ]},
            "resourceRules": resource_rules(kinds),
        },
        "matchConditions": conditions,
        "variables": [{"name": n, "expression": e} for n, e in definitions],
        "validations": [{
            "expression": f"{violations}.size() == 0",
            "messageExpression": message,
            "message": f"{rule.code} {rule.name}: see `oomguard explain {rule.code}`",
            "reason": "Forbidden",
        }],
    }
    if not conditions:
        del spec["matchConditions"]
    actions = validation_actions(severity, action)
    meta = {"name": name, "labels": _labels(rule),
            "annotations": {"oomguard.io/severity": str(severity)}}
    return RulePolicy(
        rule, actions,
        {"apiVersion": API_VERSION, "kind": "ValidatingAdmissionPolicy", "metadata": meta,
         "spec": spec},
        {"apiVersion": API_VERSION, "kind": "ValidatingAdmissionPolicyBinding",
         "metadata": {"name": name, "labels": _labels(rule)},
         "spec": {"policyName": name, "validationActions": actions}})


def build(policy: Policy, action: str = "deny",
          rule_actions: Mapping[str, str] | None = None,
          extra_excluded: Sequence[str] = ()) -> Bundle:
    """The policies and bindings of every enabled rule CEL can express; ``rule_actions``
    overrides ``action`` per rule code."""
    from oomguard.policies.vap.coverage import reason

    bundle = Bundle()
    for setting in policy.enabled_rules():
        rule = setting.rule
        why = reason(rule.code)
        if why is not None:
            bundle.skipped.append((rule, why))
            continue
        chosen = (rule_actions or {}).get(rule.code, action)
        bundle.policies.append(rule_policy(rule, setting.params, setting.severity, policy,
                                           chosen, extra_excluded))
    return bundle
