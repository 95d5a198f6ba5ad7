"""PolicyReports of ``oomguard audit --format policyreport``, validated against the upstream
CRD schemas in ../shared/schemas (wgpolicyk8s.io v1alpha2 and openreports.io v1alpha1), and
the pure audit core on objects in memory (owners, kill order, mapped kinds)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from oomguard.policies.audit import audit_objects
from oomguard.policies.audit.owners import OwnerRef, judged_through_owner, pod_bearing_owner
from oomguard.policies.audit.reports import build_reports, reports_yaml
from oomguard.policies.config import parse_policy_text
from tests.audit_cluster import CONFIGZ_W1, container, controller, node, pod, pod_spec
from tests.conftest import SHARED

SCHEMAS = SHARED / "schemas"
CRDS = {
    ("wgpolicyk8s.io/v1alpha2", "PolicyReport"): "wgpolicyk8s.io_v1alpha2_policyreports.yaml",
    ("wgpolicyk8s.io/v1alpha2", "ClusterPolicyReport"):
        "wgpolicyk8s.io_v1alpha2_clusterpolicyreports.yaml",
    ("openreports.io/v1alpha1", "Report"): "openreports.io_reports.yaml",
    ("openreports.io/v1alpha1", "ClusterReport"): "openreports.io_clusterreports.yaml",
}
NOW = datetime(2026, 12, 2, 19, 0, 0, 250000, tzinfo=timezone.utc)


def crd_schema(api_version: str, kind: str) -> dict[str, Any]:
    if not SCHEMAS.is_dir():
        pytest.skip("../shared/schemas is not beside the checkout")
    crd = YAML(typ="safe").load((SCHEMAS / CRDS[(api_version, kind)]).read_text())
    assert crd["spec"]["names"]["kind"] == kind
    version = api_version.split("/")[1]
    [served] = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema: dict[str, Any] = served["schema"]["openAPIV3Schema"]
    return schema


def _owner(kind: str, name: str, api_version: str = "apps/v1") -> list[dict[str, Any]]:
    return [{"apiVersion": api_version, "kind": kind, "name": name, "uid": f"uid-{name}",
             "controller": True}]


def cluster() -> list[dict[str, Any]]:
    spec = pod_spec(container("web"))
    good = pod_spec(container("db", memory="1Gi", request="1Gi"))
    good["containers"][0]["resources"]["requests"]["cpu"] = "500m"
    return [
        node("w-1", 16, 15),
        controller("Deployment", "web", "shop", spec),
        controller("ReplicaSet", "web-1", "shop", spec, owner=_owner("Deployment", "web")),
        pod("web-1-a", "shop", spec, owner=_owner("ReplicaSet", "web-1")),
        controller("StatefulSet", "db", "data", good),
        pod("db-0", "data", good, owner=_owner("StatefulSet", "db")),
        # a static pod's mirror: controlled by its Node, judged itself
        pod("etcd-w-1", "kube-system", good, owner=_owner("Node", "w-1", "v1")),
    ]


def audited() -> Any:
    return audit_objects(parse_policy_text("extends: default\n"), cluster(),
                         {"w-1": CONFIGZ_W1})


@pytest.mark.parametrize("api", ["wgpolicyk8s", "openreports"])
def test_reports_validate_against_the_upstream_crds(api: str) -> None:
    reports = build_reports(audited(), api, now=NOW)
    kinds = {(r["apiVersion"], r["kind"]) for r in reports}
    expected = {"wgpolicyk8s": {("wgpolicyk8s.io/v1alpha2", "PolicyReport"),
                                ("wgpolicyk8s.io/v1alpha2", "ClusterPolicyReport")},
                "openreports": {("openreports.io/v1alpha1", "Report"),
                                ("openreports.io/v1alpha1", "ClusterReport")}}[api]
    assert kinds == expected
    for report in reports:
        jsonschema.validate(report, crd_schema(report["apiVersion"], report["kind"]))
    # what kubectl apply reads back is the same
    again = list(YAML(typ="safe").load_all(reports_yaml(reports)))
    assert again == reports


def test_results_map_findings_and_clean_objects() -> None:
    reports = {(r["kind"], r["metadata"].get("namespace")): r
               for r in build_reports(audited(), now=NOW)}
    assert set(reports) == {("PolicyReport", "shop"), ("PolicyReport", "data"),
                            ("PolicyReport", "kube-system"), ("ClusterPolicyReport", None)}
    shop = reports[("PolicyReport", "shop")]
    assert shop["metadata"]["name"] == "oomguard"
    by_rule = {r["rule"]: r for r in shop["results"]}
    web = by_rule["OOM101"]
    assert (web["policy"], web["result"], web["severity"], web["source"]) == (
        "memory-limit-missing", "fail", "high", "oomguard")
    assert web["resources"] == [{"apiVersion": "apps/v1", "kind": "Deployment",
                                 "name": "web", "namespace": "shop", "uid": "uid-web"}]
    assert web["timestamp"] == {"seconds": int(NOW.timestamp()), "nanos": 250000000}
    assert web["properties"]["path"].startswith("spec.template.spec.containers[0]")
    assert by_rule["OOM102"]["result"] == "warn" and by_rule["OOM102"]["severity"] == "medium"
    assert not any(r["resources"][0]["kind"] in ("ReplicaSet", "Pod") for r in shop["results"])
    data = reports[("PolicyReport", "data")]
    assert [(r["result"], r["resources"][0]["name"]) for r in data["results"]] == [
        ("pass", "db")]
    assert data["summary"] == {"pass": 1, "fail": 0, "warn": 0, "error": 0, "skip": 0}
    assert shop["summary"]["fail"] == sum(r["result"] == "fail" for r in shop["results"])
    cluster_report = reports[("ClusterPolicyReport", None)]
    nodes = {r["resources"][0]["name"] for r in cluster_report["results"]}
    assert nodes == {"w-1"}
    assert {r["rule"] for r in cluster_report["results"]} >= {"OOM202", "OOM207"}
    assert cluster_report["results"][0]["resources"][0]["uid"] == "uid-w-1"
    assert [r["resources"][0]["name"] for r in reports[("PolicyReport", "kube-system")][
        "results"]] == ["etcd-w-1"]


def test_owner_rules() -> None:
    rollout = [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                "podTemplate": "spec.template"}]
    assert pod_bearing_owner(OwnerRef("apps/v1", "ReplicaSet", "x", "u"))
    assert pod_bearing_owner(OwnerRef("batch/v1", "CronJob", "x", "u"))
    assert not pod_bearing_owner(OwnerRef("v1", "Node", "x", "u"))
    assert not pod_bearing_owner(OwnerRef("argoproj.io/v1alpha1", "Rollout", "x", "u"))
    assert pod_bearing_owner(OwnerRef("argoproj.io/v1alpha1", "Rollout", "x", "u"), rollout)
    # an owner reference may name another served version of the mapped group
    assert pod_bearing_owner(OwnerRef("argoproj.io/v1beta1", "Rollout", "x", "u"), rollout)
    assert not pod_bearing_owner(OwnerRef("other.io/v1", "Rollout", "x", "u"), rollout)
    not_controller = {"metadata": {"ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r", "uid": "u"}]}}
    assert judged_through_owner(not_controller) is None


def test_kill_order_and_sums_per_node() -> None:
    result = audited()
    [w1] = result.nodes
    assert w1.pods == 3 and w1.capacity == 16 << 30
    assert [p.name for p in w1.kill_order] == ["web-1-a", "db-0", "etcd-w-1"]
    assert [p.oom_score_adj for p in w1.kill_order] == [1000, -997, -997]
    assert w1.kill_order[0].owner == "Deployment shop/web"
    assert (w1.requests, w1.limits, w1.unbounded_pods) == (2 << 30, 2 << 30, 1)
    assert result.skipped_owned == 3  # web-1, web-1-a, db-0


def test_a_broken_object_is_an_error_and_the_rest_is_audited() -> None:
    broken = {"kind": "Deployment", "apiVersion": "apps/v1",
              "metadata": {"name": "bad", "namespace": "shop"},
              "spec": {"template": {"spec": {"containers": "not a list"}}}}
    result = audit_objects(parse_policy_text("extends: default\n"), [broken, *cluster()])
    assert [e.source for e in result.errors] == ["Deployment shop/bad"]
    assert any(f.object and f.object.name == "web" for f in result.findings)
    [shop] = [r for r in build_reports(result, now=NOW) if r["metadata"].get("namespace") == "shop"]
    bad = [r for r in shop["results"] if r["resources"][0]["name"] == "bad"]
    assert [r["result"] for r in bad] == ["error"] and shop["summary"]["error"] == 1
