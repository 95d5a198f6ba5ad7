"""`oomguard lint` and the admission webhook judge the same objects the same way.

Both ask policies/kinds.py which objects are pod-bearing (by apiVersion, legacy group
versions included) and which ConfigMap is the kubelet's, and policies/ignores.py what an
ignore annotation says. Each case is linted through the linter's runner and judged by the
webhook's pure ``judge()`` with the real engine, from an AdmissionReview whose ``kind``
names the object's group and version as kube-apiserver sends it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from oomguard.linter.runner import lint_text
from oomguard.policies.config import build_policy
from oomguard.policies.engine import Engine
from oomguard.policies.kinds import BUILTIN_POD_KINDS, POD_TEMPLATE_PATHS, api_group
from oomguard.webhook.review import ClusterFacts, judge, parse_review
from tests.webhook_support.reviews import review

POD_SPEC: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
KUBELET = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n" \
          "evictionHard: {memory.available: 1Mi}\n"
ROLLOUTS = {"kinds": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                       "podTemplate": "spec.template"}]}


def workload(api_version: str, kind: str, annotations: dict[str, str] | None = None,
             template_annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """An object of ``kind`` whose pod spec sits where that kind keeps it."""
    meta: dict[str, Any] = {"name": "w", "namespace": "team"}
    if annotations:
        meta["annotations"] = annotations
    path = POD_TEMPLATE_PATHS.get(kind, ("spec", "template"))
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    if path is None:
        obj["spec"] = copy.deepcopy(POD_SPEC)
        return obj
    node = obj
    for part in path:
        node = node.setdefault(part, {})
    node["metadata"] = {"labels": {"app": "w"}}
    if template_annotations:
        node["metadata"]["annotations"] = template_annotations
    node["spec"] = copy.deepcopy(POD_SPEC)
    return obj


def config_map(name: str, namespace: str = "kube-system") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace}, "data": {"kubelet": KUBELET}}


def by_lint(obj: dict[str, Any], policy: dict[str, Any] | None
            ) -> tuple[bool, set[tuple[str, str]]]:
    report = lint_text(json.dumps(obj), build_policy(policy), "object.json")
    assert not report.errors, report.errors
    return report.object_count > 0, {(f.rule, f.path) for f in report.findings}


def by_webhook(obj: dict[str, Any], policy: dict[str, Any] | None
               ) -> tuple[bool, set[tuple[str, str]]]:
    body = review(obj, namespace=obj["metadata"]["namespace"], kind="Deployment")
    request = body["request"]
    group, version = api_group(obj["apiVersion"]), obj["apiVersion"].rpartition("/")[2]
    gvk = {"group": group, "version": version, "kind": obj["kind"]}
    request["kind"] = request["requestKind"] = gvk
    text = json.dumps(body)  # the hint the app computes from the body it received
    decision = judge(parse_review(json.loads(text)), Engine(build_policy(policy)),
                     ClusterFacts(), may_hold_oom_score_adj="oomScoreAdj" in text)
    return decision.reason not in ("skipped", "exempt"), {(f.rule, f.path)
                                                          for f in decision.findings}


JUDGED = [workload(version, kind) for version, kind in sorted(BUILTIN_POD_KINDS)]
NOT_JUDGED = [
    workload("example.com/v1", "Deployment"),  # a custom resource named like a built-in
    workload("v1", "Deployment"),  # the core group has no Deployment
    workload("apps/v1beta1", "DaemonSet"),  # apps/v1beta1 never served DaemonSets
    workload("extensions/v1beta1", "StatefulSet"),  # nor extensions/v1beta1 StatefulSets
    workload("batch/v1beta1", "Job"),  # batch/v1beta1 served CronJobs only
    workload("argoproj.io/v1alpha1", "Rollout"),  # not mapped by this policy
]


def _id(obj: dict[str, Any]) -> str:
    return f"{obj['apiVersion']} {obj['kind']} {obj['metadata']['name']}"


@pytest.mark.parametrize("obj", JUDGED, ids=_id)
def test_every_builtin_group_version_is_judged_alike(obj: dict[str, Any]) -> None:
    judged, findings = by_lint(obj, None)
    assert judged and {"OOM101", "OOM110"} <= {code for code, _ in findings}
    assert by_webhook(obj, None) == (judged, findings)


@pytest.mark.parametrize("obj", NOT_JUDGED, ids=_id)
def test_other_kinds_are_judged_by_neither(obj: dict[str, Any]) -> None:
    assert by_lint(obj, None) == (False, set())
    assert by_webhook(obj, None) == (False, set())


def test_a_kind_mapped_in_the_policy_is_judged_alike() -> None:
    obj = workload("argoproj.io/v1alpha1", "Rollout")
    judged, findings = by_lint(obj, ROLLOUTS)
    assert judged and ("OOM101", "spec.template.spec.containers[0].resources") in findings
    assert by_webhook(obj, ROLLOUTS) == (judged, findings)


@pytest.mark.parametrize("name", ["kubelet-config", "kubelet-config-1.23"])
def test_the_kubelet_config_map_is_judged_alike(name: str) -> None:
    obj = config_map(name)
    judged, findings = by_lint(obj, None)
    assert judged and "OOM203" in {code for code, _ in findings}
    assert by_webhook(obj, None) == (judged, findings)


@pytest.mark.parametrize("obj", [config_map("kubelet-config-extra"),
                                 config_map("kube-config"),
                                 config_map("kubelet-config", namespace="default")],
                         ids=lambda o: f"{o['metadata']['namespace']}/{o['metadata']['name']}")
def test_other_config_maps_are_judged_by_neither(obj: dict[str, Any]) -> None:
    assert by_lint(obj, None) == (False, set())
    assert by_webhook(obj, None) == (False, set())


@pytest.mark.parametrize("where", ["object", "template"])
def test_ignore_annotations_suppress_alike(where: str) -> None:
    notes = {"oomguard.io/ignore": "OOM101, qos-besteffort, no-such-rule",
             "oomguard.io/ignore-reason": "batch job"}
    obj = workload("apps/v1", "Deployment", **{
        "annotations" if where == "object" else "template_annotations": notes})
    judged, findings = by_lint(obj, None)
    codes = {code for code, _ in findings}
    assert judged and not {"OOM101", "OOM110"} & codes
    assert "OOM001" in codes  # no-such-rule names no rule
    assert by_webhook(obj, None) == (judged, findings)


def test_an_oom_score_adj_key_is_found_alike() -> None:
    obj = workload("apps/v1", "Deployment")
    obj["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {"oomScoreAdj": -998}
    judged, findings = by_lint(obj, None)
    assert ("OOM113", "spec.template.spec.containers[0].securityContext.oomScoreAdj") \
        in findings
    assert by_webhook(obj, None) == (judged, findings)
