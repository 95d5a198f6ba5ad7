"""The chart's background scan (audit.enabled): a CronJob running `oomguard audit --format
policyreport` and kubectl applying the reports, its ServiceAccount and least-privilege
ClusterRole; rendered by Helm's own engine (helm-python-sdk) and linted by oomguard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oomguard import cli
from tests.chart_helpers import as_yaml_stream, find, find_all, objects_of

helm = pytest.importorskip(
    "helm_python", reason="helm-python-sdk (pip install 'oomguard[helm]') is not installed")

CHART = Path(__file__).resolve().parents[1] / "charts" / "oomguard"
NS = "oomguard-system"
AUDIT = {"audit": {"enabled": True}}


@pytest.fixture(scope="module")
def chart() -> Any:
    return helm.Chart.load(str(CHART))


def manifests(chart: Any, values: dict[str, Any]) -> dict[str, str]:
    rendered: dict[str, str] = chart.render(values, name="oomguard", namespace=NS,
                                            is_install=True)
    return rendered


def audit_objects(chart: Any, values: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in objects_of(manifests(chart, values))
            if (o["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == "audit"]


def test_off_by_default(chart: Any) -> None:
    assert audit_objects(chart, {}) == []
    assert find_all(objects_of(manifests(chart, {})), "CronJob") == []


def test_cronjob_runs_the_audit_and_applies_the_reports(chart: Any) -> None:
    objects = audit_objects(chart, {"audit": {"enabled": True, "schedule": "*/30 * * * *"}})
    cron = find(objects, "CronJob", "oomguard-audit")
    assert cron["spec"]["schedule"] == "*/30 * * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]
    spec = pod["spec"]
    assert spec["serviceAccountName"] == "oomguard-audit"
    [audit] = spec["initContainers"]
    assert audit["args"][:2] == ["audit", "--all-namespaces"]
    assert "--format=policyreport:/reports/reports.yaml" in audit["args"]
    assert "--report-api=wgpolicyk8s" in audit["args"] and "--fail-on=none" in audit["args"]
    [apply] = spec["containers"]
    assert apply["args"][:2] == ["apply", "--server-side"]
    assert apply["args"][-2:] == ["-f", "/reports/reports.yaml"]
    # its pods are not the webhook's: no Service, PDB or NetworkPolicy selects them
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "oomguard-audit"
    policy = find(objects, "ConfigMap", "oomguard-audit-policy")
    assert "extends: default" in policy["data"]["policy.yaml"]


def _rules(objects: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    role = find(objects, "ClusterRole", "oomguard-audit")
    out: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


def test_cluster_role_is_least_privilege(chart: Any) -> None:
    objects = audit_objects(chart, {"audit": {"enabled": True}, "webhook": {"extraRules": [
        {"apiGroups": ["argoproj.io"], "apiVersions": ["*"], "resources": ["rollouts"]}]}})
    rules = _rules(objects)
    read = {("", "pods"), ("", "nodes"), ("", "limitranges"), ("", "replicationcontrollers"),
            ("apps", "deployments"), ("apps", "replicasets"), ("apps", "statefulsets"),
            ("apps", "daemonsets"), ("batch", "jobs"), ("batch", "cronjobs"),
            ("autoscaling", "horizontalpodautoscalers"), ("argoproj.io", "rollouts")}
    for key in read:
        assert rules[key] == {"get", "list"}, key
    assert rules[("", "nodes/proxy")] == {"get"}
    assert rules[("", "configmaps")] == {"get"}
    role = find(objects, "ClusterRole", "oomguard-audit")
    [config_maps] = [r for r in role["rules"] if r["resources"] == ["configmaps"]]
    assert config_maps["resourceNames"] == ["kubelet-config"]
    writes = {key for key, verbs in rules.items() if verbs - {"get", "list", "watch"}}
    assert writes == {("wgpolicyk8s.io", "policyreports"),
                      ("wgpolicyk8s.io", "clusterpolicyreports")}
    binding = find(objects, "ClusterRoleBinding", "oomguard-audit")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "oomguard-audit",
                                    "namespace": NS}]


def test_openreports_api(chart: Any) -> None:
    objects = audit_objects(chart, {"audit": {"enabled": True, "reportApi": "openreports"}})
    writes = {key for key, verbs in _rules(objects).items() if "patch" in verbs}
    assert writes == {("openreports.io", "reports"), ("openreports.io", "clusterreports")}
    [audit] = find(objects, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "initContainers"]
    assert "--report-api=openreports" in audit["args"]


@pytest.mark.parametrize("values,message", [
    ({"audit": {"reportApi": "kyverno"}}, "at '/audit/reportApi'"),
    ({"audit": {"resources": {"limits": {"memory": "lots"}}}}, "at '/audit/resources/limits/memory'"),
    ({"audit": {"surprise": 1}}, "additional properties 'surprise' not allowed"),
])
def test_values_schema(chart: Any, values: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=message):
        manifests(chart, values)


@pytest.mark.parametrize("profile", ["default", "strict"])
def test_the_cronjob_obeys_the_chart_s_own_rules(chart: Any, tmp_path: Path, profile: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(as_yaml_stream(manifests(chart, AUDIT)), encoding="utf-8")
    code = cli.main(["lint", "--format", "json", "--profile", profile, str(rendered)])
    report = json.loads(capsys.readouterr().out)
    assert any(o["object"]["kind"] == "CronJob" for o in report["objects"] if o["object"])
    blocking = [(f["rule"], f["severity"], f["path"]) for f in report["findings"]
                if f["severity"] in ("error", "warning")]
    assert (code, blocking) == (0, [])


def test_helm_lint_passes(chart: Any) -> None:
    report = helm.lint(str(CHART), AUDIT, strict=True, namespace=NS)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []
