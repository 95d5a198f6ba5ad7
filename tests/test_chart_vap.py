"""The chart's `admission.engine: webhook|vap|both`: the ValidatingAdmissionPolicies it renders
(from files/vap.yaml, which must be what `oomguard vap` writes for the chart's default
policy), rendered and linted by Helm's own engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oomguard.policies.config import build_policy, parse_policy_text
from oomguard.policies.source import iter_documents
from oomguard.policies.vap import build, to_yaml
from tests.chart_helpers import Manifest, find_all, objects_of

helm = pytest.importorskip(
    "helm_python", reason="helm-python-sdk (pip install 'oomguard[helm]') is not installed")

CHART = Path(__file__).resolve().parents[1] / "charts" / "oomguard"
VAP_FILE = CHART / "files" / "vap.yaml"
RELEASE, NS = "oomguard", "oomguard-system"
WEBHOOK_KINDS = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Service",
                 "Deployment", "PodDisruptionBudget", "Secret", "ValidatingWebhookConfiguration"}
VAP_KINDS = {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}


@pytest.fixture(scope="module")
def chart() -> Any:
    return helm.Chart.load(str(CHART))


def render(chart: Any, values: dict[str, Any]) -> dict[str, str]:
    rendered: dict[str, str] = chart.render(values, name=RELEASE, namespace=NS, is_install=True)
    return rendered


def kinds(objects: list[Manifest]) -> set[str]:
    return {o["kind"] for o in objects}


def generated(text: str) -> list[dict[str, Any]]:
    return [d.data for d in iter_documents(text) if isinstance(d.data, dict)]


def test_files_vap_yaml_is_current() -> None:
    """files/vap.yaml is `oomguard vap` for the chart's default policy, which is the built-in
    one: regenerate it with `oomguard vap -o charts/oomguard/files/vap.yaml`."""
    import yaml

    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    chart_policy = parse_policy_text(yaml.safe_dump(values["policy"]))
    builtin = build_policy(None)
    assert build(chart_policy).objects() == build(builtin).objects()
    assert VAP_FILE.read_text(encoding="utf-8") == to_yaml(build(builtin)), (
        "charts/oomguard/files/vap.yaml is stale: run `oomguard vap -o charts/oomguard/files/vap.yaml`")


def test_engine_webhook_is_the_default_and_renders_no_policies(chart: Any) -> None:
    objects = objects_of(render(chart, {}))
    assert kinds(objects) == WEBHOOK_KINDS


def test_engine_vap_renders_only_the_policies(chart: Any) -> None:
    rendered = render(chart, {"admission": {"engine": "vap"},
                              "webhook": {"excludeNamespaces": ["sandbox"]}})
    objects = objects_of(rendered)
    assert kinds(objects) == VAP_KINDS  # no Deployment, webhook configuration, TLS, RBAC
    expected = generated(VAP_FILE.read_text(encoding="utf-8"))
    assert [o["metadata"]["name"] for o in objects] == [o["metadata"]["name"] for o in expected]
    for got, want in zip(objects, expected, strict=True):
        assert got["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE
        assert got["metadata"]["labels"]["oomguard.io/rule"] == want["metadata"]["labels"][
            "oomguard.io/rule"]
        assert got["spec"].keys() == want["spec"].keys()
        if got["kind"] == "ValidatingAdmissionPolicy":
            names = got["spec"]["matchConstraints"]["namespaceSelector"]["matchExpressions"][0]
            assert names["values"] == ["kube-system", NS, "sandbox"]
            for key in ("variables", "validations", "matchConditions", "failurePolicy"):
                assert got["spec"][key] == want["spec"][key]  # expressions survive Helm's YAML
        else:
            assert got["spec"] == want["spec"]
    notes = rendered["oomguard/templates/NOTES.txt"]
    assert "No webhook runs" in notes and "Metrics:" not in notes


def test_engine_both_renders_the_webhook_and_the_policies(chart: Any) -> None:
    objects = objects_of(render(chart, {"admission": {"engine": "both"}}))
    assert kinds(objects) == WEBHOOK_KINDS | VAP_KINDS


def test_a_policy_of_ones_own_via_set_file(chart: Any) -> None:
    strict = to_yaml(build(build_policy({"extends": "strict"}), "warn"))
    objects = objects_of(render(chart, {"admission": {"engine": "vap", "vap": {"manifest": strict}}}))
    bindings = {o["metadata"]["name"]: o["spec"]["validationActions"]
                for o in find_all(objects, "ValidatingAdmissionPolicyBinding")}
    assert bindings["oomguard-oom102-memory-request-missing"] == ["Warn"]
    assert bindings["oomguard-oom110-qos-besteffort"] == ["Warn"]


def test_rendered_policies_judge_as_generated(chart: Any) -> None:
    pytest.importorskip("cel_expr_python")
    from tests.vap_support.admitted import request_for
    from tests.vap_support.apiserver import ApiServer

    api = ApiServer(objects_of(render(chart, {"admission": {"engine": "vap"}})))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "app", "image": "nginx"}]}}
    assert not api.admit(request_for(pod, "team")).allowed
    assert api.admit(request_for(pod, NS)).decisions == []  # the release namespace


@pytest.mark.parametrize("engine", ["vap", "both"])
def test_helm_lint_passes(engine: str) -> None:
    report = helm.lint(str(CHART), {"admission": {"engine": engine}}, strict=True, namespace=NS)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_values_schema_rejects_an_unknown_engine(chart: Any) -> None:
    with pytest.raises(helm.HelmValuesError) as info:
        render(chart, {"admission": {"engine": "gatekeeper"}})
    assert "at '/admission/engine': value must be one of 'webhook', 'vap', 'both'" in str(info.value)
