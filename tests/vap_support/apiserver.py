"""ValidatingAdmissionPolicies evaluated as kube-apiserver evaluates them, with a real CEL
implementation (cel-expr-python: Google's CEL with its C++ runtime and type checker).

The steps follow k8s.io/apiserver/pkg/admission/plugin/policy/validating: a policy matches
by ``matchConstraints`` (resource rules and the namespace selector), then its
``matchConditions`` (any false skips the policy; an error without a false applies the
failure policy), then ``variables`` (each evaluated once, in order, and only an expression
that reaches a variable that failed fails: cel-go evaluates them lazily), then each
validation and, when it fails, its ``messageExpression`` (validator.go). A failing
validation is denied, warned or audited by the binding's ``validationActions`` with the
messages of dispatcher.go.

The CEL environment is the 1.30 base environment's as far as the policies use it: the
quantity library (tests/vap_support/quantity_lib.py), optional types and the strings
extension (version 2); ``object``, ``oldObject``, ``request``, ``namespaceObject``,
``params`` and ``variables`` are ``dyn``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from tests.vap_support import quantity_lib

MAX_MESSAGE = 5 * 1024  # celconfig.MaxEvaluatedMessageExpressionSizeBytes


class CelError(Exception):
    """An expression did not compile or its evaluation ended in a CEL error."""


@lru_cache(maxsize=1)
def environment() -> Any:
    from cel_expr_python import cel
    from cel_expr_python.ext import ext_optional, ext_strings

    dyn = cel.Type.DYN
    return cel.NewEnv(
        quantity_lib.pool(),
        variables={name: dyn for name in ("object", "oldObject", "request", "params",
                                          "namespaceObject", "variables")},
        extensions=[quantity_lib.extension(), ext_strings.ExtStrings(2),
                    ext_optional.ExtOptional()])


_PROGRAMS: dict[str, Any] = {}


def program(expression: str) -> Any:
    """The compiled (and type-checked) expression, compiled once per text."""
    found = _PROGRAMS.get(expression)
    if found is None:
        try:
            found = environment().compile(expression)
        except Exception as exc:  # noqa: BLE001 - the C++ runtime raises plain errors
            raise CelError(f"does not compile: {exc}\n{expression}") from None
        _PROGRAMS[expression] = found
    return found


def evaluate(expression: str, data: Mapping[str, Any]) -> Any:
    try:
        value = program(expression).eval(data=dict(data))
    except RuntimeError as exc:  # e.g. the C++ runtime's 10,000-iteration budget
        raise CelError(str(exc)) from None
    if value.type().name() == "ERROR":
        raise CelError(str(value.value()))
    return value.plain_value()


# -- matching -------------------------------------------------------------------------------

def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels and matchExpressions)."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or ():
        key, op, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def rule_matches(rules: Sequence[Mapping[str, Any]], group: str, version: str,
                 resource: str, operation: str) -> bool:
    for rule in rules:
        if (group in rule["apiGroups"] or "*" in rule["apiGroups"]) and \
                (version in rule["apiVersions"] or "*" in rule["apiVersions"]) and \
                (resource in rule["resources"] or "*" in rule["resources"]) and \
                (operation in rule["operations"] or "*" in rule["operations"]):
            return True
    return False


# -- requests -------------------------------------------------------------------------------

@dataclass
class Request:
    """One admission request, as the policies see it."""

    object: dict[str, Any] | None
    resource: str  # plural, with /subresource when there is one
    namespace: str = "default"
    operation: str = "CREATE"
    old_object: dict[str, Any] | None = None
    namespace_labels: dict[str, str] = field(default_factory=dict)

    def group_version(self) -> tuple[str, str]:
        obj = self.object or self.old_object or {}
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        return group, version

    def as_cel(self) -> dict[str, Any]:
        """admission.k8s.io/v1 AdmissionRequest without the objects (cel.CreateAdmissionRequest)."""
        group, version = self.group_version()
        resource, _, sub = self.resource.partition("/")
        obj = self.object or self.old_object or {}
        request: dict[str, Any] = {
            "uid": "00000000-0000-0000-0000-000000000001",
            "kind": {"group": group, "version": version, "kind": obj.get("kind", "")},
            "resource": {"group": group, "version": version, "resource": resource},
            "requestKind": {"group": group, "version": version, "kind": obj.get("kind", "")},
            "requestResource": {"group": group, "version": version, "resource": resource},
            "name": (obj.get("metadata") or {}).get("name", ""),
            "namespace": self.namespace,
            "operation": self.operation,
            "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters"]},
            "dryRun": False,
        }
        if sub:
            request["subResource"] = sub
        return request

    def namespace_object(self) -> dict[str, Any]:
        labels = {"kubernetes.io/metadata.name": self.namespace, **self.namespace_labels}
        return {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": self.namespace, "labels": labels}}


@dataclass
class Decision:
    policy: str
    binding: str
    outcome: str  # "admit", "deny" (the validation failed) or "error"
    message: str = ""


@dataclass
class Response:
    """What the API server concludes from every matching policy."""

    decisions: list[Decision] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.denied

    def failed(self) -> set[str]:
        """Policies whose validation failed (whatever their binding does with it)."""
        return {d.policy for d in self.decisions if d.outcome == "deny"}

    def errors(self) -> list[Decision]:
        return [d for d in self.decisions if d.outcome == "error"]


class ApiServer:
    """The policies and bindings of a ``oomguard vap`` output, ready to judge requests."""

    def __init__(self, objects: Sequence[Mapping[str, Any]]) -> None:
        self.policies = {o["metadata"]["name"]: o for o in objects
                         if o.get("kind") == "ValidatingAdmissionPolicy"}
        self.bindings = [o for o in objects if o.get("kind") == "ValidatingAdmissionPolicyBinding"]
        for policy in self.policies.values():  # compile everything once, up front
            for expression in _expressions(policy):
                program(expression)

    def admit(self, request: Request) -> Response:
        response = Response()
        group, version = request.group_version()
        cel_request = request.as_cel()
        namespace = request.namespace_object()
        labels = namespace["metadata"]["labels"]
        for binding in self.bindings:
            policy = self.policies[binding["spec"]["policyName"]]
            spec = policy["spec"]
            constraints = spec["matchConstraints"]
            if not rule_matches(constraints["resourceRules"], group, version, request.resource,
                                request.operation):
                continue
            if not selector_matches(constraints.get("namespaceSelector"), labels):
                continue
            data = {"object": request.object, "oldObject": request.old_object,
                    "request": cel_request, "namespaceObject": namespace, "params": None}
            decision = self._validate(policy, binding, data)
            if decision is None:
                continue
            response.decisions.append(decision)
            if decision.outcome == "admit":
                continue
            if decision.outcome == "error" and spec.get("failurePolicy", "Fail") == "Ignore":
                continue
            self._act(response, policy, binding, decision)
        return response

    def _validate(self, policy: Mapping[str, Any], binding: Mapping[str, Any],
                  data: dict[str, Any]) -> Decision | None:
        pname, bname = policy["metadata"]["name"], binding["metadata"]["name"]
        spec = policy["spec"]
        errors = []
        for condition in spec.get("matchConditions") or ():  # matchconditions/matcher.go
            try:
                if evaluate(condition["expression"], data) is False:
                    return None
            except CelError as exc:
                errors.append(str(exc))
        if errors:
            return Decision(pname, bname, "error", errors[0])
        values: dict[str, Any] = {}
        failures: list[str] = []
        for variable in spec.get("variables") or ():
            try:
                values[variable["name"]] = evaluate(variable["expression"],
                                                    {**data, "variables": values})
            except CelError as exc:  # an error only if an expression reaches it (cel-go
                failures.append(f"variables.{variable['name']}: {exc}")  # is lazy)
        data = {**data, "variables": values}
        for validation in spec["validations"]:
            try:
                passed = evaluate(validation["expression"], data)
            except CelError as exc:
                return Decision(pname, bname, "error", "; ".join([str(exc), *failures]))
            if passed is True:
                continue
            return Decision(pname, bname, "deny", _message(validation, data))
        return Decision(pname, bname, "admit")

    @staticmethod
    def _act(response: Response, policy: Mapping[str, Any], binding: Mapping[str, Any],
             decision: Decision) -> None:
        pname, bname = decision.policy, decision.binding
        for action in binding["spec"]["validationActions"]:
            if action == "Deny":
                response.denied.append(f"ValidatingAdmissionPolicy '{pname}' with binding "
                                       f"'{bname}' denied request: {decision.message}")
            elif action == "Warn":
                response.warnings.append(f"Validation failed for ValidatingAdmissionPolicy "
                                         f"'{pname}' with binding '{bname}': {decision.message}")
            elif action == "Audit":
                response.audit.append({"message": decision.message, "policy": pname,
                                       "binding": bname, "expressionIndex": 0,
                                       "validationActions": binding["spec"]["validationActions"]})


def _message(validation: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """validator.go: the messageExpression's string, trimmed, when it is one line of at most
    5 KiB; else the static message; else the expression."""
    message = ""
    if validation.get("messageExpression"):
        try:
            value = evaluate(validation["messageExpression"], data)
        except CelError:
            value = None
        if isinstance(value, str):
            message = value.strip()
            if len(message.encode()) > MAX_MESSAGE or "\n" in message:
                message = ""
    if not message and validation.get("message"):
        message = validation["message"].strip()
    return message or f"failed expression: {validation['expression'].strip()}"


def _expressions(policy: Mapping[str, Any]) -> list[str]:
    spec = policy["spec"]
    out = [c["expression"] for c in spec.get("matchConditions") or ()]
    out += [v["expression"] for v in spec.get("variables") or ()]
    for validation in spec["validations"]:
        out.append(validation["expression"])
        if validation.get("messageExpression"):
            out.append(validation["messageExpression"])
    return out
