"""Enforcement actions without a server: the policy's ``webhook.action`` and per-rule
``action`` (schema, located errors), which action wins, the judge's answer with the real
engine, the audit annotations' Kubernetes limits, ``oomguard lint``'s ``action`` key and
``oomguard vap`` following the policy."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from oomguard.cli import main
from oomguard.policies.actions import ActionResolver, looser, rule_action, severity_action
from oomguard.policies.config import PolicyError, build_policy, load_policy
from oomguard.policies.engine import Engine
from oomguard.policies.rule import Finding, ObjectRef, Severity
from oomguard.webhook.review import (
    AUDIT_KEYS,
    MAX_AUDIT_VALUE,
    ClusterFacts,
    audit_value,
    judge,
    response,
)
from tests.webhook_support import RATIO_WARNING, pod, review

# k8s.io/apimachinery/pkg/util/validation/validation.go: IsQualifiedName
NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def is_qualified_name(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    return bool(NAME_PART.match(name)) and len(name) <= 63 and (
        not prefix or (len(prefix) <= 253 and bool(DNS_SUBDOMAIN.match(prefix))))


# --- the policy file --------------------------------------------------------------------------

def test_actions_are_read_from_the_policy() -> None:
    policy = build_policy({"webhook": {"action": "warn"},
                           "rules": {"OOM104": {"action": "audit", "max-ratio": 3},
                                     "qos-besteffort": {"action": "deny"}}})
    assert policy.webhook["action"] == "warn"
    assert policy.settings["OOM104"].action == "audit"
    assert policy.settings["OOM104"].params["max-ratio"] == 3  # action is no rule parameter
    assert dict(policy.action_caps) == {"OOM104": "audit"}  # deny caps nothing
    assert build_policy(None).webhook["action"] == "deny"


@pytest.mark.parametrize("text,error", [
    ("webhook: {action: dryrun}\n", "line 1, column 11: webhook.action: 'dryrun' is not one of ['deny', 'warn', 'audit']"),
    ("rules:\n  OOM104: {action: Warn}\n", "line 2, column 12: rules.OOM104.action: 'Warn' is not one of"),
    ("rules:\n  memory-limit-missing: {action: [deny]}\n", "line 2, column 26: rules.memory-limit-missing.action: ['deny'] is not one of"),
])
def test_a_bad_action_is_a_located_policy_error(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / ".oomguard.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value).startswith(f"{path}: {error}")


def test_a_bad_action_makes_lint_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("webhook: {action: block}\n")
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n")
    assert main(["lint", "--policy", str(policy), str(manifest)]) == 2
    assert "webhook.action: 'block' is not one of" in capsys.readouterr().err


# --- which action wins ------------------------------------------------------------------------

@pytest.mark.parametrize("cap,stage,expected", [
    ("deny", "deny", "deny"), ("deny", "warn", "warn"), ("deny", "audit", "audit"),
    ("warn", "deny", "warn"), ("warn", "warn", "warn"), ("warn", "audit", "audit"),
    ("audit", "deny", "audit"), ("audit", "warn", "audit"), ("audit", "audit", "audit"),
])
def test_the_looser_of_the_rule_cap_and_the_stage_wins(cap: str, stage: str, expected: str) -> None:
    assert looser(cap, stage) == expected
    policy = build_policy({"rules": {"OOM101": {"action": cap}}})
    assert rule_action(policy, "OOM101", stage) == expected
    assert rule_action(policy, "OOM110", stage) == stage  # an uncapped rule: the stage


def test_the_policy_action_is_the_stage_of_unlabelled_namespaces() -> None:
    policy = build_policy({"webhook": {"action": "audit"}, "rules": {"OOM104": {"action": "warn"}}})
    assert rule_action(policy, "OOM101") == "audit"
    assert rule_action(policy, "OOM101", "deny") == "deny"  # a label may be stricter
    assert rule_action(policy, "OOM104", "deny") == "warn"  # but never past a rule's cap


@pytest.mark.parametrize("severity,action,expected", [
    (Severity.ERROR, "deny", "deny"), (Severity.ERROR, "warn", "warn"),
    (Severity.ERROR, "audit", "audit"), (Severity.WARNING, "deny", "warn"),
    (Severity.WARNING, "warn", "warn"), (Severity.WARNING, "audit", "audit"),
    (Severity.INFO, "deny", "audit"),
])
def test_what_a_finding_gets_by_severity(severity: Severity, action: str, expected: str) -> None:
    assert severity_action(severity, action) == expected


def finding(code: str, severity: Severity, namespace: str | None) -> Finding:
    return Finding(code, "x", severity, "m", None, None, None,
                   ObjectRef("v1", "Pod", namespace, "p"), "app", "spec")


def test_resolver_uses_namespace_labels_when_known() -> None:
    policy = build_policy({"webhook": {"action": "warn"}, "rules": {"OOM104": {"action": "audit"}}})
    resolve = ActionResolver(policy, namespace_stages={"prod": "deny", "odd": "block"})
    assert resolve(finding("OOM101", Severity.ERROR, "prod")) == "deny"
    assert resolve(finding("OOM101", Severity.ERROR, "dev")) == "warn"
    assert resolve(finding("OOM101", Severity.ERROR, "odd")) == "warn"  # bad label: the policy's
    assert resolve(finding("OOM104", Severity.WARNING, "prod")) == "audit"
    assert resolve(finding("OOM101", Severity.ERROR, None)) == "warn"
    preview = ActionResolver(policy, "deny", {"prod": "audit"})
    assert preview(finding("OOM101", Severity.ERROR, "prod")) == "deny"  # --action wins


# --- the judge's answer -----------------------------------------------------------------------

def answer(policy: dict[str, Any] | None, obj: dict[str, Any], stage: str | None = None
           ) -> tuple[str, dict[str, Any]]:
    decision = judge(review(obj)["request"], Engine(build_policy(policy)), ClusterFacts(),
                     stage=stage)
    return decision.reason, response("u", decision)["response"]


def test_deny_is_todays_answer() -> None:
    reason, resp = answer(None, pod())
    assert reason == "denied" and resp["allowed"] is False
    assert set(resp["auditAnnotations"]) == {"qos", "pod-memory-request"}


def test_warn_turns_denials_into_prefixed_warnings() -> None:
    reason, resp = answer({"webhook": {"action": "warn"}}, pod())
    assert reason == "would-deny" and resp["allowed"] is True
    assert [w[:18] for w in resp["warnings"]] == ["would deny: OOM101", "OOM102 memory-requ",
                                                  "would deny: OOM110"]
    assert resp["auditAnnotations"]["would-deny"].startswith("OOM101 memory-limit-missing: ")


def test_audit_keeps_everything_out_of_the_answer() -> None:
    reason, resp = answer({"webhook": {"action": "audit"}}, pod())
    assert reason == "would-deny" and resp["allowed"] is True and "warnings" not in resp
    annotations = resp["auditAnnotations"]
    assert annotations["action"] == "audit"
    assert re.findall(r"OOM\d+", annotations["would-deny"]) == ["OOM101", "OOM110"]
    assert re.findall(r"OOM\d+", annotations["would-warn"]) == ["OOM102"]
    reason, resp = answer(None, pod(RATIO_WARNING), "audit")
    assert reason == "allowed" and "warnings" not in resp


def test_every_audit_annotation_key_is_one_kube_apiserver_keeps() -> None:
    """kube-apiserver files a webhook's key k as "<webhook name>/k" and drops it unless
    that is a qualified name (attributes.go, checkKeyFormat)."""
    seen: set[str] = set()
    for policy in (None, {"webhook": {"action": "warn"}}, {"webhook": {"action": "audit"}},
                   {"rules": {"OOM101": {"action": "warn"}}}):
        for obj in (pod(), pod(RATIO_WARNING), pod(annotations={"oomguard.io/ignore": "OOM999"})):
            seen.update(answer(policy, obj)[1].get("auditAnnotations", {}))
    assert seen == set(AUDIT_KEYS)
    for webhook in ("workloads.oomguard.io", "audit.workloads.oomguard.io",
                    "kubelet-config.oomguard.io"):
        assert all(is_qualified_name(f"{webhook}/{key}") for key in AUDIT_KEYS)


def test_audit_values_are_cut_at_10_kib_on_a_character_boundary() -> None:
    assert audit_value("short") == "short"
    long = "é" * MAX_AUDIT_VALUE  # two bytes each
    cut = audit_value(long)
    assert len(cut.encode()) <= MAX_AUDIT_VALUE and cut.endswith("...")
    assert cut[:-3] == "é" * len(cut[:-3])
    many = {"containers": [{"name": f"c{i}-" + "x" * 40, "image": "i"} for i in range(400)]}
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": many}
    annotations = answer({"webhook": {"action": "audit"}}, obj)[1]["auditAnnotations"]
    assert all(len(value.encode()) <= MAX_AUDIT_VALUE for value in annotations.values())
    assert annotations["would-deny"].endswith("...")


# --- oomguard lint and oomguard vap -----------------------------------------------------------

BEST_EFFORT = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: team}\nspec:\n  containers: [{name: app, image: nginx}]\n"


def lint_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, str]:
    assert main(["lint", "--format", "json", *argv]) == 1  # the exit code keeps to severities
    return {f["rule"]: f["action"] for f in json.loads(capsys.readouterr().out)["findings"]}


def test_lint_json_gives_each_finding_its_action(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(BEST_EFFORT)
    policy = tmp_path / "policy.yaml"
    policy.write_text("webhook: {action: warn}\nrules:\n  OOM110: {action: audit}\n")
    assert lint_json(capsys, str(manifest)) == {"OOM101": "deny", "OOM102": "warn",
                                                "OOM110": "deny"}
    assert lint_json(capsys, "--policy", str(policy), str(manifest)) == {
        "OOM101": "warn", "OOM102": "warn", "OOM110": "audit"}
    # a preview of the namespace flipped to deny: the cap still holds
    assert lint_json(capsys, "--policy", str(policy), "--action", "deny", str(manifest)) == {
        "OOM101": "deny", "OOM102": "warn", "OOM110": "audit"}
    assert lint_json(capsys, "--action", "audit", str(manifest)) == {
        "OOM101": "audit", "OOM102": "audit", "OOM110": "audit"}


def test_lint_text_names_the_action_only_when_not_the_default(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(BEST_EFFORT)
    assert main(["lint", str(manifest)]) == 1
    assert "(action:" not in capsys.readouterr().out
    assert main(["lint", "--action", "warn", str(manifest)]) == 1
    lines = {line.split(" ")[2]: line for line in capsys.readouterr().out.splitlines()[:-1]}
    assert lines["OOM101"].endswith("[Pod team/p] (action: warn)")
    assert lines["OOM102"].endswith("[Pod team/p]")  # a warning warns: nothing to say


def test_vap_follows_the_policy_action_and_rule_caps(tmp_path: Path) -> None:
    import yaml

    policy = tmp_path / "policy.yaml"
    policy.write_text("webhook: {action: warn}\nrules:\n  OOM110: {action: audit}\n")
    out = tmp_path / "vap.yaml"

    def bindings(*argv: str) -> dict[str, list[str]]:
        assert main(["vap", "--policy", str(policy), "-o", str(out), *argv]) == 0
        return {d["metadata"]["labels"]["oomguard.io/rule"]: d["spec"]["validationActions"]
                for d in yaml.safe_load_all(out.read_text())
                if d and d["kind"] == "ValidatingAdmissionPolicyBinding"}

    default = bindings()
    assert (default["OOM101"], default["OOM102"], default["OOM110"]) == (["Warn"], ["Warn"], ["Audit"])
    assert out.read_text().splitlines()[0].endswith(", action warn.")
    deny = bindings("--action", "deny")
    assert (deny["OOM101"], deny["OOM102"], deny["OOM110"]) == (["Deny"], ["Warn"], ["Audit"])
