"""Enforcement actions against the real server: gunicorn over TLS on 127.0.0.1, HTTPS clients
posting AdmissionReviews as kube-apiserver sends them to the paths the chart's webhook
entries call (``/validate`` for the policy's ``webhook.action``, ``/validate/<action>`` for a
namespace labelled ``oomguard.io/action``), with the review log lines and the metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.webhook_support import (
    RATIO_WARNING,
    Server,
    configmap_volume,
    pod,
    review,
    start_server,
    wait_for,
)

# OOM110 (an error of a BestEffort pod) held back to audit everywhere
POLICY = "rules:\n  OOM110: {action: audit}\n"
REQUEST_ONLY = {"requests": {"memory": "64Mi", "cpu": "100m"}}  # OOM101 alone
REVIEWS = "oomguard_admission_reviews_total"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(tmp_path_factory.mktemp("actions"), POLICY, workers=1, threads=4)


def post(server: Server, body: dict[str, Any], path: str = "/validate") -> dict[str, Any]:
    reply = server.session().post(f"{server.url}{path}", json=body, timeout=10)
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert data["kind"] == "AdmissionReview" and data["apiVersion"] == "admission.k8s.io/v1"
    assert data["response"]["uid"] == body["request"]["uid"]
    return dict(data["response"])


def review_line(server: Server, uid: str) -> dict[str, Any]:
    """The server's log line of one review (buffered: written within a tenth of a second)."""
    found: list[dict[str, Any]] = []
    assert wait_for(lambda: found.extend(e for e in server.events("review")
                                         if e["uid"] == uid) or bool(found), seconds=5)
    return found[0]


def metric(server: Server, name: str, **labels: str) -> float:
    total = 0.0
    for line in server.get("/metrics").text.splitlines():
        if not line.startswith(name + "{"):
            continue
        label_text, _, value = line[len(name) + 1:].rpartition("} ")
        have = dict(part.split("=", 1) for part in label_text.split(","))
        if all(have.get(k) == f'"{v}"' for k, v in labels.items()):
            total += float(value)
    return total


def set_policy(server: Server, text: str, generation: int) -> None:
    before = server.log().count('"policy-reloaded"')
    configmap_volume(server.policy_dir, text, generation)
    assert wait_for(lambda: server.log().count('"policy-reloaded"') > before, seconds=10)


def codes(text: str) -> set[str]:
    """The rule codes a message names."""
    return set(re.findall(r"\bOOM\d{3}\b", text))


def test_deny_denies_errors_and_audits_a_rule_capped_at_audit(server: Server) -> None:
    body = review(pod(), namespace="team-a")
    resp = post(server, body)
    assert resp["allowed"] is False and resp["status"]["code"] == 403
    assert codes(resp["status"]["message"]) == {"OOM101"}  # OOM110 is capped at audit
    assert [w.split(" ", 1)[0] for w in resp["warnings"]] == ["OOM102"]
    annotations = resp["auditAnnotations"]
    assert "action" not in annotations  # deny, the default, is not repeated
    assert codes(annotations["would-deny"]) == {"OOM110"}
    line = review_line(server, body["request"]["uid"])
    assert (line["decision"], line["action"], line["allowed"]) == ("denied", "deny", False)
    assert line["rules"] == ["OOM101", "OOM102", "OOM110"]


def test_namespace_at_warn_gets_would_deny_warnings(server: Server) -> None:
    before = metric(server, REVIEWS, kind="Pod", decision="would-deny")
    body = review(pod(), namespace="team-b")
    resp = post(server, body, "/validate/warn")
    assert resp["allowed"] is True and "status" not in resp
    assert [w.split(":", 1)[0] for w in resp["warnings"]] == ["would deny", "OOM102 memory-request-missing"]
    assert resp["warnings"][0].startswith("would deny: OOM101 memory-limit-missing: ")
    assert all(len(w) <= 256 for w in resp["warnings"])
    annotations = resp["auditAnnotations"]
    assert annotations["action"] == "warn"
    assert codes(annotations["would-deny"]) == {"OOM101", "OOM110"}
    assert "would-warn" not in annotations
    line = review_line(server, body["request"]["uid"])
    assert (line["decision"], line["action"], line["allowed"]) == ("would-deny", "warn", True)
    assert metric(server, REVIEWS, kind="Pod", decision="would-deny") == before + 1


def test_namespace_at_audit_is_allowed_silently_and_recorded(server: Server) -> None:
    before = metric(server, REVIEWS, kind="Pod", operation="CREATE", decision="would-deny")
    body = review(pod(), namespace="team-c")
    resp = post(server, body, "/validate/audit")
    assert resp["allowed"] is True and "status" not in resp and "warnings" not in resp
    annotations = resp["auditAnnotations"]
    assert annotations["action"] == "audit" and annotations["qos"] == "BestEffort"
    assert codes(annotations["would-deny"]) == {"OOM101", "OOM110"}
    assert codes(annotations["would-warn"]) == {"OOM102"}
    line = review_line(server, body["request"]["uid"])
    assert (line["decision"], line["action"], line["allowed"]) == ("would-deny", "audit", True)
    assert metric(server, REVIEWS, kind="Pod", operation="CREATE",
                  decision="would-deny") == before + 1
    # the findings are counted as always, whatever the action
    assert metric(server, "oomguard_findings_total", rule="OOM101", severity="error") >= 1


def test_warnings_only_review_under_audit_is_allowed_without_warnings(server: Server) -> None:
    body = review(pod(RATIO_WARNING), namespace="team-c")
    resp = post(server, body, "/validate/audit")
    assert "warnings" not in resp and resp["allowed"] is True
    assert codes(resp["auditAnnotations"]["would-warn"]) == {"OOM104"}
    assert "would-deny" not in resp["auditAnnotations"]
    assert review_line(server, body["request"]["uid"])["decision"] == "allowed"


def test_namespace_at_deny_is_todays_behaviour(server: Server) -> None:
    body = review(pod(REQUEST_ONLY), namespace="team-d")
    resp = post(server, body, "/validate/deny")
    assert resp["allowed"] is False and codes(resp["status"]["message"]) == {"OOM101"}
    assert review_line(server, body["request"]["uid"])["action"] == "deny"
    ratio = post(server, review(pod(RATIO_WARNING), namespace="team-d"), "/validate/deny")
    assert ratio["allowed"] is True
    assert [w.split(" ", 1)[0] for w in ratio["warnings"]] == ["OOM104"]


def test_an_unknown_action_path_is_a_404_and_counted(server: Server) -> None:
    before = metric(server, "oomguard_bad_requests_total", status="404")
    reply = server.session().post(f"{server.url}/validate/dryrun", json=review(pod()),
                                  timeout=10)
    assert reply.status_code == 404 and reply.json()["error"] == "invalid request"
    assert metric(server, "oomguard_bad_requests_total", status="404") == before + 1


def test_policy_action_and_per_rule_caps_follow_a_live_reload(server: Server) -> None:
    """webhook.action in the policy file sets /validate's stage; a namespace's path
    overrides it both ways; a rule's action caps it in every namespace."""
    set_policy(server, "webhook: {action: audit}\n", 2)
    body = review(pod(REQUEST_ONLY), namespace="team-e")
    resp = post(server, body)
    assert resp["allowed"] is True and "warnings" not in resp
    assert resp["auditAnnotations"]["action"] == "audit"
    assert codes(resp["auditAnnotations"]["would-deny"]) == {"OOM101"}
    line = review_line(server, body["request"]["uid"])
    assert (line["decision"], line["action"]) == ("would-deny", "audit")
    # a namespace labelled deny is stricter than the policy
    assert post(server, review(pod(REQUEST_ONLY)), "/validate/deny")["allowed"] is False

    set_policy(server, "webhook: {action: warn}\n", 3)
    resp = post(server, review(pod(REQUEST_ONLY)))
    assert resp["allowed"] is True
    assert [w[:32] for w in resp["warnings"]] == ["would deny: OOM101 memory-limit-"]

    set_policy(server, "rules:\n  memory-limit-missing: {action: warn}\n", 4)
    body = review(pod(REQUEST_ONLY), namespace="team-f")
    resp = post(server, body, "/validate/deny")  # the cap holds in a namespace at deny
    assert resp["allowed"] is True
    assert resp["warnings"][0].startswith("would deny: OOM101 memory-limit-missing: ")
    assert codes(resp["auditAnnotations"]["would-deny"]) == {"OOM101"}
    assert review_line(server, body["request"]["uid"])["decision"] == "would-deny"
    audited = post(server, review(pod(REQUEST_ONLY)), "/validate/audit")
    assert "warnings" not in audited and audited["allowed"] is True
