"""The chart's enforcement actions, rendered and linted by Helm's own engine: webhook.action in
the policy ConfigMap, one webhook entry per namespace action on the oomguard.io/action
label, the ValidatingAdmissionPolicy bindings following webhook.action, the rollout NOTES,
and the rendered chart still passing `oomguard lint`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oomguard.policies.config import parse_policy_text
from tests.chart_helpers import Manifest, as_yaml_stream, find, find_all, objects_of

helm = pytest.importorskip(
    "helm_python", reason="helm-python-sdk (pip install 'oomguard[helm]') is not installed")

CHART = Path(__file__).resolve().parents[1] / "charts" / "oomguard"
RELEASE, NS = "oomguard", "oomguard-system"
LABEL = "oomguard.io/action"
ACTION_HOOKS = {"deny.workloads.oomguard.io": "deny", "warn.workloads.oomguard.io": "warn",
                "audit.workloads.oomguard.io": "audit"}


@pytest.fixture(scope="module")
def chart() -> Any:
    return helm.Chart.load(str(CHART))


def render_manifests(chart: Any, values: dict[str, Any]) -> dict[str, str]:
    rendered: dict[str, str] = chart.render(values, name=RELEASE, namespace=NS, is_install=True)
    return rendered


def render(chart: Any, values: dict[str, Any]) -> list[Manifest]:
    return objects_of(render_manifests(chart, values))


def hooks(objects: list[Manifest]) -> dict[str, Manifest]:
    config = find(objects, "ValidatingWebhookConfiguration")
    return {hook["name"]: hook for hook in config["webhooks"]}


def label_expression(hook: Manifest) -> list[Manifest]:
    return [e for e in hook["namespaceSelector"]["matchExpressions"] if e["key"] == LABEL]


@pytest.fixture(scope="module")
def default_hooks(chart: Any) -> dict[str, Manifest]:
    return hooks(render(chart, {}))


def test_one_entry_per_action_on_the_namespace_label(default_hooks: dict[str, Manifest]) -> None:
    found = default_hooks
    default = found["workloads.oomguard.io"]
    assert default["clientConfig"]["service"]["path"] == "/validate"
    # unlabelled namespaces, and those with a value that is no action, get the policy's
    assert label_expression(default) == [{"key": LABEL, "operator": "NotIn",
                                          "values": ["deny", "warn", "audit"]}]
    for name, action in ACTION_HOOKS.items():
        hook = found[name]
        assert hook["clientConfig"]["service"]["path"] == f"/validate/{action}"
        assert label_expression(hook) == [{"key": LABEL, "operator": "In", "values": [action]}]
        # everything else is the default entry's: the same objects, exclusions and TLS
        for key in ("rules", "failurePolicy", "timeoutSeconds", "matchPolicy", "sideEffects"):
            assert hook[key] == default[key]
        assert hook["clientConfig"]["caBundle"] == default["clientConfig"]["caBundle"]
        assert hook["namespaceSelector"]["matchExpressions"][:2] == \
            default["namespaceSelector"]["matchExpressions"][:2]


def test_namespace_actions_can_be_turned_off(chart: Any) -> None:
    found = hooks(render(chart, {"webhook": {"namespaceActions": False}}))
    assert set(found) == {"workloads.oomguard.io", "kubelet-config.oomguard.io"}
    assert label_expression(found["workloads.oomguard.io"]) == []
    notes = render_manifests(chart, {"webhook": {"namespaceActions": False}})[
        "oomguard/templates/NOTES.txt"]
    assert "is not honoured" in notes


def policy_of(objects: list[Manifest]) -> str:
    text: str = find(objects, "ConfigMap")["data"]["policy.yaml"]
    return text


@pytest.mark.parametrize("action", ["warn", "audit"])
def test_webhook_action_goes_into_the_policy(chart: Any, action: str) -> None:
    objects = render(chart, {"webhook": {"action": action}})
    policy = parse_policy_text(policy_of(objects))
    assert policy.webhook["action"] == action
    assert policy.webhook["ratchet"] is True  # the chart's other webhook settings stay
    # with the policy's own action agreeing, or a policy without a webhook section
    same = render(chart, {"webhook": {"action": action},
                          "policy": {"webhook": {"action": action}}})
    assert parse_policy_text(policy_of(same)).webhook["action"] == action
    bare = render(chart, {"webhook": {"action": action}, "policy": {"webhook": None}})
    assert parse_policy_text(policy_of(bare)).webhook["action"] == action


def test_deny_leaves_the_policy_as_given(chart: Any) -> None:
    assert "action" not in policy_of(render(chart, {}))


def test_a_policy_action_that_disagrees_is_refused(chart: Any) -> None:
    with pytest.raises(helm.HelmRenderError) as info:
        render(chart, {"policy": {"webhook": {"action": "audit"}}})
    assert "oomguard/templates/configmap.yaml" in str(info.value)
    assert "policy.webhook.action (audit) and webhook.action (deny) disagree" in str(info.value)


def test_values_schema_rejects_an_unknown_action(chart: Any) -> None:
    with pytest.raises(helm.HelmValuesError) as info:
        render(chart, {"webhook": {"action": "dryrun"}})
    assert "at '/webhook/action': value must be one of 'deny', 'warn', 'audit'" in str(info.value)


@pytest.mark.parametrize("action,expected", [
    ("deny", {("Deny",), ("Warn",)}), ("warn", {("Warn",)}), ("audit", {("Audit",)})])
def test_vap_bindings_follow_webhook_action(chart: Any, action: str,
                                            expected: set[tuple[str, ...]]) -> None:
    objects = render(chart, {"admission": {"engine": "vap"}, "webhook": {"action": action}})
    bindings = find_all(objects, "ValidatingAdmissionPolicyBinding")
    assert {tuple(b["spec"]["validationActions"]) for b in bindings} == expected
    by_rule = {b["metadata"]["labels"]["oomguard.io/rule"]: b["spec"]["validationActions"]
               for b in bindings}
    assert by_rule["OOM101"] == [{"deny": "Deny", "warn": "Warn", "audit": "Audit"}[action]]


def test_notes_give_the_rollout(chart: Any) -> None:
    notes = render_manifests(chart, {"webhook": {"action": "audit"}})[
        "oomguard/templates/NOTES.txt"]
    assert "Enforcement action: audit" in notes
    steps = [notes.index(step) for step in ("1. audit:", "2. warn", "3. deny:", "4. everyone:")]
    assert steps == sorted(steps)
    assert 'decision="would-deny"' in notes and f"{LABEL}=warn" in notes
    assert "allowed, audited as would-deny" in notes


@pytest.mark.parametrize("values", [{"webhook": {"action": "audit"}},
                                    {"webhook": {"action": "warn", "namespaceActions": False}}])
def test_helm_lint_and_oomguard_lint_pass(chart: Any, values: dict[str, Any], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    report = helm.lint(str(CHART), values, strict=True, namespace=NS)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []
    from oomguard.cli import main

    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(as_yaml_stream(render_manifests(chart, values)), encoding="utf-8")
    assert main(["lint", "--format", "json", str(rendered)]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [f["rule"] for f in findings if f["severity"] != "info"] == []


def selects(selector: Manifest, labels: dict[str, str]) -> bool:
    """A label selector's matchExpressions as kube-apiserver evaluates them
    (k8s.io/apimachinery/pkg/labels/selector.go: NotIn also matches a missing label)."""
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
        if expression["operator"] == "NotIn" and value in expression["values"]:
            return False
    return True


@pytest.mark.parametrize("labels,path", [
    ({}, "/validate"),
    ({LABEL: "warn"}, "/validate/warn"),
    ({LABEL: "audit"}, "/validate/audit"),
    ({LABEL: "deny"}, "/validate/deny"),
    ({LABEL: "block"}, "/validate"),  # a value that is no action: the policy's
    ({LABEL: "audit", "oomguard.io/ignore": "true"}, None),
    ({LABEL: "warn", "kubernetes.io/metadata.name": "kube-system"}, None),
    ({LABEL: "warn", "kubernetes.io/metadata.name": NS}, None),
])
def test_each_namespace_is_sent_to_exactly_one_path(default_hooks: dict[str, Manifest],
                                                    labels: dict[str, str],
                                                    path: str | None) -> None:
    labels = {"kubernetes.io/metadata.name": "team", **labels}
    workloads = [hook for name, hook in default_hooks.items()
                 if name.endswith("workloads.oomguard.io")]
    paths = [hook["clientConfig"]["service"]["path"] for hook in workloads
             if selects(hook["namespaceSelector"], labels)]
    assert paths == ([path] if path else [])
