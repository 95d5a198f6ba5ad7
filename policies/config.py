"""The policy file (``.oomguard.yaml``): profiles, rule settings, node sizes, exclusions.

The file is validated with a JSON Schema generated from the rule catalog, so every rule's
parameters are checked against the schema that rule declares; an error names the key.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from oomguard.policies.actions import ACTIONS, DENY
from oomguard.policies.quantity import QuantityError, parse_quantity
from oomguard.policies.registry import Catalog, catalog
from oomguard.policies.rule import Rule, Severity

POLICY_FILENAMES = (".oomguard.yaml", ".oomguard.yml")
PROFILES = ("default", "strict")

WEBHOOK_DEFAULTS: dict[str, Any] = {
    "ratchet": True,
    "validate-owned-pods": False,
    "on-internal-error": "allow",
    "allow-annotation-ignores": True,
    # seconds one review may be judged for (policies.budget), and the answer when it is not
    # judged in time; below the chart's timeoutSeconds (5), so the webhook answers first
    "judge-timeout": 2,
    "on-timeout": "deny",
    "action": "deny",  # policies/actions.py: deny, warn or audit
}

# RULES.md "Profiles": strict requires Guaranteed everywhere and tightens OOM104/102/115.
_STRICT: dict[str, dict[str, Any]] = {
    "OOM111": {"all": True},
    "OOM104": {"max-ratio": 1.0},
    "OOM102": {"severity": "error"},
    "OOM115": {"enabled": True},
}


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class RuleSetting:
    rule: Rule
    enabled: bool
    severity: Severity
    params: Mapping[str, Any]
    # the most this rule may do at admission (policies/actions.py); deny: no cap
    action: str = "deny"


@dataclass(frozen=True)
class Policy:
    settings: Mapping[str, RuleSetting]  # by rule code
    profile: str = "default"
    node_memory: Decimal | None = None
    node_allocatable: Decimal | None = None
    exclude_namespaces: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    kinds: tuple[Mapping[str, Any], ...] = ()
    webhook: Mapping[str, Any] = field(default_factory=lambda: dict(WEBHOOK_DEFAULTS))
    source: str | None = None  # the file it came from

    @cached_property
    def action_caps(self) -> Mapping[str, str]:
        """The rules whose ``action`` is below deny, by code (read on every review; a
        frozen dataclass still lets cached_property fill its ``__dict__``)."""
        return {code: s.action for code, s in self.settings.items() if s.action != DENY}

    def setting(self, key: str) -> RuleSetting | None:
        rule = catalog().get(key)
        return self.settings.get(rule.code) if rule else None

    def enabled_rules(self) -> list[RuleSetting]:
        return [s for s in self.settings.values() if s.enabled]


def _rule_schema(rule: Rule) -> dict[str, Any]:
    props: dict[str, Any] = {
        "enabled": {"type": "boolean"},
        "severity": {"enum": ["error", "warning", "info"]},
        "action": {"enum": list(ACTIONS)},
    }
    props.update(rule.params_schema)
    return {"type": "object", "properties": props, "additionalProperties": False}


def policy_schema(cat: Catalog | None = None) -> dict[str, Any]:
    """JSON Schema of the policy file, with each rule reachable by code and by name."""
    cat = cat or catalog()
    rule_props: dict[str, Any] = {}
    for rule in cat:
        schema = _rule_schema(rule)
        rule_props[rule.code] = schema
        rule_props[rule.name] = schema
    quantity = {"type": ["string", "integer"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "extends": {"enum": list(PROFILES)},
            "node": {"type": "object", "additionalProperties": False,
                     "properties": {"memory": quantity, "allocatable": quantity}},
            "rules": {"type": "object", "properties": rule_props, "additionalProperties": False},
            "exclude": {"type": "object", "additionalProperties": False, "properties": {
                "namespaces": {"type": "array", "items": {"type": "string"}},
                "paths": {"type": "array", "items": {"type": "string"}},
            }},
            "kinds": {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["kind", "podTemplate"],
                "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                               "podTemplate": {"type": "string", "pattern": r"^[A-Za-z0-9_.]+$"}},
            }},
            "webhook": {"type": "object", "additionalProperties": False, "properties": {
                "ratchet": {"type": "boolean"},
                "validate-owned-pods": {"type": "boolean"},
                "on-internal-error": {"enum": ["allow", "deny"]},
                "allow-annotation-ignores": {"type": "boolean"},
                # kube-apiserver caps a webhook's timeoutSeconds at 30
                "judge-timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 30},
                "on-timeout": {"enum": ["allow", "deny"]},
                "action": {"enum": list(ACTIONS)},
            }},
        },
    }


def _key_path(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validate(data: Any, source: str | None = None) -> None:
    """Raise PolicyError naming the first offending key."""
    if data is None:
        return
    import jsonschema  # imported here: only policy files pay for it (~40 ms)

    where = f"{source}: " if source else ""
    if not isinstance(data, dict):
        raise PolicyError(f"{where}the policy must be a mapping, not {type(data).__name__}")
    for path, number in _non_finite(data, ()):
        # NaN passes every "minimum" (each comparison with it is false) and infinity is no
        # setting either: `max-ratio: .nan` would silently disable OOM104
        raise PolicyError(f"{where}{_at(data, path)}{_key_path(path)}: {number!r} is not a "
                          "finite number")
    validator = jsonschema.Draft202012Validator(policy_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return
    error = errors[0]
    where += _at(data, list(error.absolute_path))
    key = _key_path(list(error.absolute_path))
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        hint = ""
        if list(error.absolute_path) == ["rules"]:
            hint = " (not a rule code or name; see `oomguard rules`)"
        raise PolicyError(f"{where}{key}: unknown key {', '.join(map(repr, extra))}{hint}")
    raise PolicyError(f"{where}{key}: {error.message}")


def _non_finite(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[list[Any], float]]:
    stack = [(node, path)]
    while stack:  # (iterative: the loader bounds nesting, this need not rely on it)
        current, where = stack.pop()
        if isinstance(current, float) and not math.isfinite(current):
            yield list(where), current
        elif isinstance(current, dict):
            stack.extend((v, (*where, k)) for k, v in current.items())
        elif isinstance(current, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(current))


def _at(data: Any, path: Sequence[Any]) -> str:
    """"line L, column C: " of the key at ``path`` when the policy came from YAML."""
    from oomguard.policies.positions import locate

    pos = locate(data, tuple(path)) if path else None
    return f"line {pos[0]}, column {pos[1]}: " if pos else ""


def _quantity(value: Any, key: str, source: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = parse_quantity(value)
    except QuantityError as exc:
        raise PolicyError(f"{source + ': ' if source else ''}{key}: {value!r} is not a "
                          f"Kubernetes quantity ({exc})") from None
    if amount <= 0:
        raise PolicyError(f"{source + ': ' if source else ''}{key}: must be positive")
    return amount


def build_policy(data: Mapping[str, Any] | None, source: str | None = None) -> Policy:
    """Validate a parsed policy document and resolve it against its profile."""
    validate(data, source)
    data = data or {}
    cat = catalog()
    profile = str(data.get("extends", "default"))
    overrides: dict[str, dict[str, Any]] = {}
    if profile == "strict":
        for code, values in _STRICT.items():
            overrides.setdefault(code, {}).update(values)
    for key, values in (data.get("rules") or {}).items():
        rule = cat.get(key)
        assert rule is not None  # the schema admits only known rules
        overrides.setdefault(rule.code, {}).update(values or {})
    settings: dict[str, RuleSetting] = {}
    for rule in cat:
        values = dict(overrides.get(rule.code, {}))
        enabled = bool(values.pop("enabled", rule.enabled))
        severity = Severity.parse(values.pop("severity")) if "severity" in values \
            else rule.severity
        action = str(values.pop("action", DENY))
        params = {**rule.defaults, **values}
        _check_quantity_params(rule, params, source)
        settings[rule.code] = RuleSetting(rule, enabled, severity, params, action)
    node = data.get("node") or {}
    exclude = data.get("exclude") or {}
    return Policy(
        settings=settings, profile=profile,
        node_memory=_quantity(node.get("memory"), "node.memory", source),
        node_allocatable=_quantity(node.get("allocatable"), "node.allocatable", source),
        exclude_namespaces=tuple(exclude.get("namespaces", ())),
        exclude_paths=tuple(exclude.get("paths", ())),
        kinds=tuple(dict(k) for k in data.get("kinds", ())),
        webhook={**WEBHOOK_DEFAULTS, **(data.get("webhook") or {})},
        source=source,
    )


def _check_quantity_params(rule: Rule, params: Mapping[str, Any], source: str | None) -> None:
    """Parameters declared with ``format: quantity`` must parse as Kubernetes quantities."""
    for name, schema in rule.params_schema.items():
        if schema.get("format") == "quantity" and params.get(name) is not None:
            where = f"{source + ': ' if source else ''}rules.{rule.code}.{name}: "
            try:
                amount = parse_quantity(params[name])
            except QuantityError as exc:
                raise PolicyError(f"{where}{params[name]!r} is not a Kubernetes quantity "
                                  f"({exc})") from None
            if amount < 0:  # a negative memory bound means nothing
                raise PolicyError(f"{where}{params[name]!r} must not be negative")


def parse_policy_text(text: str, source: str | None = None) -> Policy:
    """The policy in ``text``; a YAML problem (syntax, alias bomb, nesting, a character YAML
    forbids) is a PolicyError naming its line and column."""
    from oomguard.policies.source import iter_documents

    docs = list(iter_documents(text))
    where = f"{source}: " if source else ""
    for doc in docs:
        for problem in doc.problems:
            line = f"line {problem.line}, column {problem.column}: " if problem.line else ""
            raise PolicyError(f"{where}{line}{problem.message}")
    if len(docs) > 1:
        raise PolicyError(f"{where}a policy file holds one YAML document, found {len(docs)}")
    try:
        return build_policy(docs[0].data if docs else None, source)
    except RecursionError:  # the loader bounds nesting; this keeps any deeper reader honest
        raise PolicyError(f"{where}the policy nests too deeply to be read") from None


def load_policy(path: str | os.PathLike[str] | None = None, *, search_cwd: bool = False,
                profile: str | None = None) -> Policy:
    """Load ``path``; without one, ``.oomguard.yaml`` in the working directory when
    ``search_cwd``; otherwise the built-in profile (``default`` unless given)."""
    if path is None and search_cwd:
        path = next((name for name in POLICY_FILENAMES if os.path.isfile(name)), None)
    if path is None:
        return build_policy({"extends": profile} if profile else None)
    source = os.fspath(path)
    try:
        with open(source, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise PolicyError(f"{source}: cannot read the policy: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{source}: the policy is not UTF-8 text ({exc.reason} at byte "
                          f"{exc.start})") from None
    policy = parse_policy_text(text, source)
    if profile and profile != policy.profile:
        raise PolicyError(f"{source}: extends {policy.profile!r} but --profile {profile!r}")
    return policy
