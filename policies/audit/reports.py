"""PolicyReports of an audit, for ``kubectl apply -f -``.

Two APIs with the same result shape: the Policy WG's ``wgpolicyk8s.io/v1alpha2``
PolicyReport/ClusterPolicyReport (kubernetes-sigs/wg-policy-prototypes,
policy-report/crd/v1alpha2; read by Policy Reporter, Kyverno's tooling, Headlamp) and its
successor ``openreports.io/v1alpha1`` Report/ClusterReport (openreports/reports-api,
apis/openreports.io/v1alpha1/reportresult_types.go). One namespaced report per namespace
and one cluster report for nodes and cluster-scoped objects, each named ``oomguard`` so a
later run replaces it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from oomguard.policies.audit.core import AuditResult, Judged
from oomguard.policies.rule import Finding, ObjectRef, Severity

REPORT_NAME = "oomguard"
SOURCE = "oomguard"
APIS = {
    "wgpolicyk8s": ("wgpolicyk8s.io/v1alpha2", "PolicyReport", "ClusterPolicyReport"),
    "openreports": ("openreports.io/v1alpha1", "Report", "ClusterReport"),
}
# result: the mapping; an info finding is reported, but as a warning
RESULTS = {Severity.ERROR: "fail", Severity.WARNING: "warn", Severity.INFO: "warn"}
# severity: the v1alpha2 enum (critical, high, medium, low, info)
SEVERITIES = {Severity.ERROR: "high", Severity.WARNING: "medium", Severity.INFO: "info"}
PASS_POLICY = "oomguard"


def _resource(ref: ObjectRef, uid: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": ref.api_version or "v1", "kind": ref.kind or "",
                           "name": ref.name or ""}
    if ref.namespace:
        out["namespace"] = ref.namespace
    if uid:
        out["uid"] = uid
    return out


def _timestamp(now: datetime) -> dict[str, int]:
    seconds = int(now.timestamp())
    return {"seconds": seconds, "nanos": now.microsecond * 1000}


def _finding_result(f: Finding, uid: str | None, stamp: dict[str, int]) -> dict[str, Any]:
    properties = {"path": f.path}
    if f.container:
        properties["container"] = f.container
    assert f.object is not None
    return {"source": SOURCE, "policy": f.name, "rule": f.rule, "category": "memory",
            "result": RESULTS[f.severity], "severity": SEVERITIES[f.severity],
            "scored": True, "message": f.message, "timestamp": dict(stamp),
            "resources": [_resource(f.object, uid)], "properties": properties}


def _pass_result(judged: Judged, stamp: dict[str, int]) -> dict[str, Any]:
    if judged.problems:  # the rules could not read it: no pass
        return {"source": SOURCE, "policy": PASS_POLICY, "rule": "all", "category": "memory",
                "result": "error", "scored": True,
                "message": "oomguard could not judge this object (see the audit's errors)",
                "timestamp": dict(stamp), "resources": [_resource(judged.ref, judged.uid)]}
    return {"source": SOURCE, "policy": PASS_POLICY, "rule": "all", "category": "memory",
            "result": "pass", "scored": True, "message": "no oomguard finding",
            "timestamp": dict(stamp), "resources": [_resource(judged.ref, judged.uid)]}


def _summary(results: Iterable[dict[str, Any]]) -> dict[str, int]:
    counts = {"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0}
    for result in results:
        counts[result["result"]] += 1
    return counts


def build_reports(result: AuditResult, api: str = "wgpolicyk8s",
                  now: datetime | None = None) -> list[dict[str, Any]]:
    """The reports, namespaced ones sorted by namespace, the cluster report last."""
    api_version, kind, cluster_kind = APIS[api]
    stamp = _timestamp(now or datetime.now(timezone.utc))
    uids = {j.ref: j.uid for j in result.judged}
    by_namespace: dict[str | None, list[dict[str, Any]]] = {}
    for f in result.findings:
        if f.object is None:
            continue
        by_namespace.setdefault(f.object.namespace, []).append(
            _finding_result(f, uids.get(f.object), stamp))
    for judged in result.judged:
        if judged.findings == 0:
            by_namespace.setdefault(judged.ref.namespace, []).append(
                _pass_result(judged, stamp))
    labels = {"app.kubernetes.io/managed-by": "oomguard"}
    reports = []
    for namespace in sorted(by_namespace, key=lambda ns: (ns is None, ns or "")):
        results = by_namespace[namespace]
        meta: dict[str, Any] = {"name": REPORT_NAME, "labels": dict(labels)}
        if namespace is not None:
            meta["namespace"] = namespace
        report: dict[str, Any] = {"apiVersion": api_version,
                                  "kind": cluster_kind if namespace is None else kind,
                                  "metadata": meta}
        if api == "openreports":
            report["source"] = SOURCE
        report["summary"] = _summary(results)
        report["results"] = results
        reports.append(report)
    return reports


def reports_yaml(reports: list[dict[str, Any]]) -> str:
    """A YAML stream, one document per report."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=False)
    yaml.default_flow_style = False
    yaml.width = 4096  # messages stay on one line
    out = io.StringIO()
    yaml.dump_all(reports, out)
    return out.getvalue()
