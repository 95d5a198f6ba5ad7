"""`oomguard vap`: the generated ValidatingAdmissionPolicies, run by a real CEL implementation
(cel-expr-python) as kube-apiserver runs them (tests/vap_support/apiserver.py), reject exactly
the objects the Python rules report, rule by rule: over every rule's examples, the workload
cases of the rule tests, and every pod-bearing object of the corpus."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cel_expr_python", reason="cel-expr-python (the test extra) is not installed")

from oomguard.cli import main  # noqa: E402
from oomguard.policies.config import Policy, build_policy  # noqa: E402
from oomguard.policies.engine import Engine  # noqa: E402
from oomguard.policies.kinds import object_template_path  # noqa: E402
from oomguard.policies.registry import catalog  # noqa: E402
from oomguard.policies.source import iter_documents  # noqa: E402
from oomguard.policies.vap import build, to_yaml, validation_actions  # noqa: E402
from oomguard.policies.vap.objects import object_name  # noqa: E402
from oomguard.policies.vap.rules import BUILDERS  # noqa: E402
from tests import test_rules_oom113_131, test_rules_workload  # noqa: E402
from tests.vap_support.admitted import python_codes, request_for  # noqa: E402
from tests.vap_support.apiserver import ApiServer, Request  # noqa: E402

COVERED = sorted(BUILDERS)
CODE_OF = {object_name(rule): rule.code for rule in catalog()}


class Judge:
    """One policy file: its generated policies in the API server, and oomguard's engine."""

    def __init__(self, policy: Mapping[str, Any] | None = None, action: str = "deny") -> None:
        self.policy: Policy = build_policy(dict(policy or {}))
        self.bundle = build(self.policy, action)
        self.api = ApiServer(self.bundle.objects())
        self.engine = Engine(self.policy)
        self.exported = {item.rule.code for item in self.bundle.policies}

    def request(self, obj: Mapping[str, Any], namespace: str | None = None, **kw: Any) -> Request:
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        ns = namespace or str((meta or {}).get("namespace") or "default")
        return request_for(obj, ns, kinds=self.policy.kinds, **kw)

    def compare(self, obj: Mapping[str, Any], namespace: str | None = None) -> tuple[set[str], set[str]]:
        """(rules whose policy failed, rules the engine reports) for one object on CREATE."""
        request = self.request(obj, namespace)
        response = self.api.admit(request)
        assert not response.errors(), [(e.policy, e.message[:500]) for e in response.errors()]
        return ({CODE_OF[name] for name in response.failed()},
                python_codes(self.engine, request) & self.exported)


_judges: dict[str, Judge] = {}


def judge_for(policy: Mapping[str, Any] | None = None) -> Judge:
    key = json.dumps(policy or {}, sort_keys=True)
    if key not in _judges:
        _judges[key] = Judge(policy)
    return _judges[key]


def pod_bearing(text: str, kinds: Any = ()) -> Iterator[dict[str, Any]]:
    for doc in iter_documents(text):
        data = doc.data
        items = data.get("items") if isinstance(data, dict) and \
            str(data.get("kind", "")).endswith("List") else [data]
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and object_template_path(item, kinds)[0]:
                yield item


# -- every rule's examples -------------------------------------------------------------------

RULES = [rule for rule in catalog() if rule.code in BUILDERS]


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_examples_are_judged_alike(rule: Any) -> None:
    policy = {**rule.doc.example_policy}
    if not rule.enabled:
        policy.setdefault("rules", {}).setdefault(rule.code, {})["enabled"] = True
    judge = judge_for(policy)
    for example, fires in ((rule.doc.bad, True), (rule.doc.good, False)):
        for obj in pod_bearing(example):
            vap, python = judge.compare(obj)
            assert vap == python, (rule.code, example)
            assert (rule.code in vap) is fires


# -- the rule tests' own workload cases --------------------------------------------------------

def _recorded_cases() -> list[tuple[str, str, dict[str, Any]]]:
    """(test name, manifest text, policy) of every lint_text call of the workload rule tests."""
    cases: list[tuple[str, str, dict[str, Any]]] = []
    current = [""]  # the test being run
    for module in (test_rules_workload, test_rules_oom113_131):
        original = module.lint_text

        def recorder(text: str, policy: Any = None, original: Callable[..., Any] = original,
                     **kw: Any) -> Any:
            cases.append((current[0], text, dict(policy or {})))
            return original(text, policy, **kw)

        for name, test in sorted(vars(module).items()):
            if not name.startswith("test_") or not callable(test):
                continue
            marks = [m for m in getattr(test, "pytestmark", []) if m.name == "parametrize"]
            calls: list[dict[str, Any]] = [{}]
            for mark in marks:
                names = [n.strip() for n in mark.args[0].split(",")]
                calls = [{**call, **dict(zip(names, values if len(names) > 1 else [values],
                                                  strict=True))}
                         for call in calls for values in mark.args[1]]
            current[0] = f"{module.__name__.rsplit('.', 1)[-1]}::{name}"
            with _patched(module, "lint_text", recorder):
                for call in calls:
                    test(**call)
    return cases


@contextmanager
def _patched(module: Any, name: str, value: Any) -> Iterator[None]:
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


def _limit_range_namespaces(text: str) -> set[str]:
    return {str((d.data.get("metadata") or {}).get("namespace")) for d in iter_documents(text)
            if isinstance(d.data, dict) and d.data.get("kind") == "LimitRange"}


def test_the_rule_tests_workload_cases_are_judged_alike() -> None:
    cases = _recorded_cases()
    assert len(cases) > 40
    compared = skipped = 0
    for name, text, policy in cases:
        judge = judge_for(policy)
        defaulted = _limit_range_namespaces(text)
        for obj in pod_bearing(text, judge.policy.kinds):
            namespace = str((obj.get("metadata") or {}).get("namespace") or "default")
            if namespace in defaulted:  # LimitRange defaulting: the webhook's, not a policy's
                skipped += 1
                continue
            vap, python = judge.compare(obj)
            assert vap == python, (name, obj)
            compared += 1
    assert compared > 50 and skipped >= 3


# -- the corpus ---------------------------------------------------------------------------------

CORPUS_POLICIES = {
    "default": {"rules": {"OOM109": {"enabled": True}}},
    "strict": {"extends": "strict", "rules": {"OOM109": {"enabled": True, "max": "1Gi"},
                                              "OOM107": {"min": "64Mi"},
                                              "OOM104": {"max-ratio": 1.5}}},
    "selectors": {"rules": {"OOM111": {"selector": {"app": "prometheus"},
                                       "namespaces": ["monitoring"]},
                            "OOM104": {"max-ratio": 1.3}}},
}


_corpus_objects: list[tuple[str, dict[str, Any]]] = []


def corpus_objects(corpus: Path) -> list[tuple[str, dict[str, Any]]]:
    """(file name, object) of every pod-bearing object of the corpus, read once."""
    if not _corpus_objects:
        for path in sorted(corpus.rglob("*")):
            if path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace")
                _corpus_objects.extend((path.name, obj) for obj in pod_bearing(text))
    return _corpus_objects


@pytest.mark.parametrize("name", list(CORPUS_POLICIES))
def test_every_pod_bearing_corpus_object_is_judged_alike(corpus: Path, name: str) -> None:
    judge = judge_for(CORPUS_POLICIES[name])
    seen: dict[str, int] = {}
    objects = corpus_objects(corpus)
    for file, obj in objects:
        vap, python = judge.compare(obj)
        assert vap == python, (file, obj.get("kind"), obj.get("metadata"))
        for code in vap:
            seen[code] = seen.get(code, 0) + 1
    assert len(objects) > 200
    assert {"OOM101", "OOM102", "OOM110"} <= set(seen), seen


# -- what the webhook does besides the rules ------------------------------------------------------

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
       "spec": {"containers": [{"name": "app", "image": "nginx"}]}}


def _with(obj: Mapping[str, Any], **meta: Any) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], **meta}}


def test_deny_message_names_rule_container_and_value() -> None:
    judge = judge_for(None)
    pod = {**POD, "spec": {"containers": [
        {"name": "app", "resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}}}]}}
    response = judge.api.admit(judge.request(pod))
    assert not response.allowed
    denied = " ".join(response.denied)
    assert "ValidatingAdmissionPolicy 'oomguard-oom103-memory-request-exceeds-limit'" in denied
    assert ("OOM103 memory-request-exceeds-limit: container 'app' requests 1Gi but is limited "
            "to 512Mi: the API server rejects it") in denied
    many = {**POD, "spec": {"containers": [{"name": f"c{i}"} for i in range(5)]}}
    denied = [d for d in judge.api.admit(judge.request(many)).denied if "oom101" in d]
    assert denied and denied[0].endswith(
        "OOM101 memory-limit-missing: container 'c2' has no memory limit: it can use all of the "
        "node's memory and get other pods OOM-killed or evicted; and 2 more")


def test_warning_rules_warn_and_actions_follow_the_severity() -> None:
    judge = judge_for(None)
    pod = {**POD, "spec": {"containers": [
        {"name": "app", "resources": {"requests": {"memory": "128Mi", "cpu": "1"},
                                      "limits": {"memory": "1Gi"}}}]}}
    response = judge.api.admit(judge.request(pod))
    assert response.allowed
    assert any("OOM104 memory-limit-request-ratio: container 'app' memory limit 1Gi is more than "
               "2.0x its request 128Mi" in w for w in response.warnings), response.warnings
    from oomguard.policies.rule import Severity
    assert validation_actions(Severity.ERROR, "deny") == ["Deny"]
    assert validation_actions(Severity.ERROR, "warn") == ["Warn"]
    assert validation_actions(Severity.ERROR, "audit") == ["Audit"]
    assert validation_actions(Severity.WARNING, "deny") == ["Warn"]
    assert validation_actions(Severity.WARNING, "audit") == ["Audit"]
    assert validation_actions(Severity.INFO, "deny") == ["Audit"]


@pytest.mark.parametrize("action,expected", [("warn", "warnings"), ("audit", "audit")])
def test_action_warn_and_audit_never_deny(action: str, expected: str) -> None:
    judge = Judge(None, action)
    response = judge.api.admit(judge.request(POD))
    assert response.allowed and not response.denied
    assert any("OOM101" in str(entry) for entry in getattr(response, expected))
    if action == "audit":
        assert not response.warnings


def test_ignore_annotation_on_object_or_template_by_code_or_name() -> None:
    judge = judge_for(None)
    tokens = " oom101 ,\u00a0qos-besteffort\t"
    ignored = judge.api.admit(judge.request(_with(POD, annotations={"oomguard.io/ignore": tokens})))
    assert {CODE_OF[n] for n in ignored.failed()} == {"OOM102"}
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
              "spec": {"template": {"metadata": {"annotations": {"oomguard.io/ignore": "OOM102"}},
                                    "spec": POD["spec"]}}}
    assert {CODE_OF[n] for n in judge.api.admit(judge.request(deploy)).failed()} == {
        "OOM101", "OOM110"}
    wrong_case = _with(POD, annotations={"oomguard.io/ignore": "Memory-Limit-Missing"})
    assert "OOM101" in {CODE_OF[n] for n in judge.api.admit(judge.request(wrong_case)).failed()}
    strict = Judge({"webhook": {"allow-annotation-ignores": False}})
    response = strict.api.admit(strict.request(_with(POD, annotations={"oomguard.io/ignore": "OOM101"})))
    assert "OOM101" in {CODE_OF[n] for n in response.failed()}


def test_excluded_namespaces_and_the_namespace_label() -> None:
    judge = judge_for(None)
    assert judge.api.admit(judge.request(POD, "kube-system")).decisions == []
    request = judge.request(POD, "team")
    request.namespace_labels = {"oomguard.io/ignore": "true"}
    assert judge.api.admit(request).decisions == []
    own = Judge({"exclude": {"namespaces": ["sandbox"]}})
    assert own.api.admit(own.request(POD, "sandbox")).decisions == []
    assert not own.api.admit(own.request(POD, "kube-system")).allowed  # as the webhook


def test_pods_of_judged_controllers_are_skipped_but_resizes_are_not() -> None:
    judge = judge_for(None)
    owned = _with(POD, ownerReferences=[{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                         "name": "rs", "uid": "u", "controller": True}])
    assert judge.api.admit(judge.request(owned)).allowed
    limited = {**owned, "spec": {"containers": [
        {"name": "app", "resources": {"limits": {"memory": "1Gi", "cpu": "1"}}}]}}
    resize = judge.request(owned, operation="UPDATE", old=limited)  # a resize that drops it
    resize.resource = "pods/resize"
    assert not judge.api.admit(resize).allowed
    checked = Judge({"webhook": {"validate-owned-pods": True}})
    assert not checked.api.admit(checked.request(owned)).allowed


def test_updates_ratchet_findings_the_old_object_had() -> None:
    judge = judge_for(None)
    old = {**POD, "spec": {"containers": [{"name": "app"}]}}
    same = judge.api.admit(judge.request(old, operation="UPDATE", old=old))
    assert same.allowed and same.failed() == {object_name(catalog().get("OOM102"))}
    added = {**POD, "spec": {"containers": [{"name": "app"}, {"name": "new"}]}}
    response = judge.api.admit(judge.request(added, operation="UPDATE", old=old))
    assert not response.allowed
    assert "container 'new'" in " ".join(response.denied)
    assert "container 'app'" not in " ".join(response.denied)
    off = Judge({"webhook": {"ratchet": False}})
    assert not off.api.admit(off.request(old, operation="UPDATE", old=old)).allowed


def test_mapped_kinds_and_legacy_group_versions() -> None:
    policy = {"kinds": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                         "podTemplate": "spec.template"}]}
    judge = judge_for(policy)
    rollout = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r"},
               "spec": {"template": {"spec": POD["spec"]}}}
    request = judge.request(rollout)
    assert request.resource == "rollouts"
    assert {"OOM101", "OOM110"} <= {CODE_OF[n] for n in judge.api.admit(request).failed()}
    for api_version, kind in (("extensions/v1beta1", "DaemonSet"), ("apps/v1beta2", "Deployment"),
                              ("batch/v1beta1", "CronJob")):
        spec = {"template": {"spec": POD["spec"]}}
        if kind == "CronJob":
            spec = {"schedule": "* * * * *", "jobTemplate": {"spec": spec}}
        legacy = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, "spec": spec}
        vap, python = judge_for(None).compare(legacy)
        assert vap == python and "OOM101" in vap, api_version


# -- the objects themselves ---------------------------------------------------------------------

def test_objects_match_the_kubernetes_openapi_types() -> None:
    """Every field survives a round trip through the kubernetes client's models (which know
    the admissionregistration.k8s.io/v1 schema): nothing dropped, nothing mistyped."""
    from kubernetes.client import ApiClient

    client = ApiClient()
    bundle = build(build_policy({"extends": "strict", "rules": {"OOM109": {"enabled": True}},
                                 "kinds": [{"apiVersion": "argoproj.io/v1alpha1",
                                            "kind": "Rollout", "podTemplate": "spec.template"}]}))
    kinds = {"ValidatingAdmissionPolicy": "V1ValidatingAdmissionPolicy",
             "ValidatingAdmissionPolicyBinding": "V1ValidatingAdmissionPolicyBinding"}
    for obj in bundle.objects():
        model = client._ApiClient__deserialize(obj, kinds[obj["kind"]])  # type: ignore[attr-defined]
        assert client.sanitize_for_serialization(model) == obj
    names = [o["metadata"]["name"] for o in bundle.objects()]
    assert all(len(n) <= 253 and n == n.lower() for n in names)
    for policy in (o for o in bundle.objects() if o["kind"] == "ValidatingAdmissionPolicy"):
        for variable in policy["spec"]["variables"]:
            assert variable["name"].isidentifier()
        for validation in policy["spec"]["validations"]:
            assert "\n" not in validation["message"]


def test_cli_writes_the_stream_and_explains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "vap.yaml"
    assert main(["vap", "--profile", "strict", "--action", "warn", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Generated by `oomguard vap`")
    assert "# Requires Kubernetes >= 1.30" in text
    assert "OOM130 runtime-heap-exceeds-limit: not exported" in text
    docs = [d.data for d in iter_documents(text) if isinstance(d.data, dict)]
    bindings = {d["spec"]["policyName"]: d["spec"]["validationActions"] for d in docs
                if d["kind"] == "ValidatingAdmissionPolicyBinding"}
    assert bindings["oomguard-oom101-memory-limit-missing"] == ["Warn"]
    assert len(bindings) == len([d for d in docs if d["kind"] == "ValidatingAdmissionPolicy"])
    assert main(["vap", "--explain"]) == 0
    explained = capsys.readouterr().out
    for code in ("OOM108", "OOM115", "OOM121", "OOM130", "OOM140"):
        assert f"{code} " in explained and "not exported" in explained
    assert "LimitRange defaulting" in explained
    assert "OOM101 memory-limit-missing: exported, Deny" in explained
    policy = tmp_path / "p.yaml"
    policy.write_text("rules: {OOM104: {max-ratio: 0.5}}\n")
    assert main(["vap", "--policy", str(policy)]) == 2
    assert "max-ratio" in capsys.readouterr().err


def test_output_is_deterministic_and_parameters_are_inlined() -> None:
    policy = build_policy({"rules": {"OOM104": {"max-ratio": 1.25}, "OOM107": {"min": "32Mi"}}})
    text = to_yaml(build(policy))
    assert text == to_yaml(build(policy))
    assert "quantity('32Mi')" in text
    assert "paramKind" not in text


# -- CEL cost -----------------------------------------------------------------------------------

PER_CALL_LIMIT = 1_000_000  # k8s.io/apiserver/pkg/apis/cel/config.go PerCallLimit
RUNTIME_BUDGET = 10_000_000  # ... RuntimeCELCostBudget, per policy and binding evaluation


def _container(i: int, compliant: bool) -> dict[str, Any]:
    """A container the size of a real one: env, mounts, probes, a security context."""
    resources = {"requests": {"memory": "256Mi", "cpu": "250m"},
                 "limits": {"memory": "256Mi", "cpu": "250m"}} if compliant else \
        {"requests": {"memory": "512m", "cpu": "1"}, "limits": {"memory": "1GB"}}
    probe = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}
    return {"name": f"container-{i:03d}", "image": f"registry.example/app-{i}:1.2.3",
            "command": ["/app", "--listen=:8080"], "args": [f"--shard={i}"],
            "env": [{"name": f"VAR_{j}", "value": f"value-{j}"} for j in range(20)],
            "ports": [{"containerPort": 8080, "name": "http"}],
            "volumeMounts": [{"name": f"v{j}", "mountPath": f"/data/{j}"} for j in range(10)],
            "livenessProbe": probe, "readinessProbe": probe,
            "securityContext": {"runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
            "resources": resources}


def _big_pod(compliant: bool) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "big", "labels": {"app": "big"},
        "annotations": {"oomguard.io/ignore": "OOM999", "note": "x" * 1000}},
        "spec": {"initContainers": [_container(i, compliant) for i in range(20)],
                 "containers": [_container(i, compliant) for i in range(20, 100)],
                 "volumes": [{"name": f"v{j}", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}
                              if compliant else {"medium": "Memory"}} for j in range(10)]}}


@pytest.mark.parametrize("compliant", [True, False], ids=["compliant", "violating"])
def test_cost_stays_under_the_api_servers_limits_for_100_containers(compliant: bool) -> None:
    """Each expression under PerCallLimit and each policy's evaluation under the runtime
    budget, on CREATE and on an UPDATE (the ratchet evaluates the old object too), by the
    cost meter of tests/vap_support/cost.py, whose results agree with the C++ runtime's."""
    from tests.vap_support.cost import policy_cost

    judge = Judge({"extends": "strict", "rules": {"OOM109": {"enabled": True}}})
    pod = _big_pod(compliant)
    worst: dict[str, tuple[int, str]] = {}
    for operation, old in (("CREATE", None), ("UPDATE", pod)):
        request = judge.request(pod, operation=operation, old=old)
        response = judge.api.admit(request)
        # cel-expr-python stops at 10,000 comprehension iterations (cel-go has no such limit,
        # only the cost): where it gives up, the meter's result is checked against the rules
        budget = {d.policy for d in response.errors() if "Iteration budget" in d.message}
        assert budget == {d.policy for d in response.errors()}
        python = python_codes(judge.engine, request)
        data = {"object": request.object, "oldObject": request.old_object,
                "request": request.as_cel(), "namespaceObject": request.namespace_object(),
                "params": None}
        for item in judge.bundle.policies:
            costs, passed = policy_cost(item.policy, data)
            name = item.policy["metadata"]["name"]
            if name not in budget:
                assert (passed is not True) == (name in response.failed()), (name, operation)
            elif operation == "CREATE":
                assert (passed is not True) == (item.rule.code in python), name
            assert max(costs.values()) < PER_CALL_LIMIT, (name, costs)
            total = sum(costs.values())
            assert total < RUNTIME_BUDGET, (name, total)
            if total > worst.get(item.rule.code, (0, ""))[0]:
                worst[item.rule.code] = (total, operation)
    assert set(worst) == set(judge.exported)
    print("\nCEL cost of one evaluation, 100 containers "
          f"({'compliant' if compliant else 'violating'}):",
          ", ".join(f"{code} {cost:,} ({op})" for code, (cost, op) in sorted(worst.items())))


def test_the_cost_meter_evaluates_as_the_cel_runtime_does(corpus: Path) -> None:
    """The meter's verdicts equal cel-expr-python's on the rule examples and corpus objects."""
    from tests.vap_support.cost import policy_cost

    judge = judge_for(CORPUS_POLICIES["strict"])
    objects = [obj for rule in RULES for text in (rule.doc.bad, rule.doc.good)
               for obj in pod_bearing(text)]
    objects.extend(obj for _, obj in corpus_objects(corpus)[::5])
    assert len(objects) > 50
    for obj in objects:
        request = judge.request(obj)
        failed = judge.api.admit(request).failed()
        data = {"object": request.object, "oldObject": None, "request": request.as_cel(),
                "namespaceObject": request.namespace_object(), "params": None}
        for item in judge.bundle.policies:
            if any(c["name"] == "not-ignored-by-annotation" for c in
                   item.policy["spec"].get("matchConditions", [])) and \
                    "oomguard.io/ignore" in str(obj.get("metadata")):
                continue  # skipped by a match condition; the meter runs the validation
            _, passed = policy_cost(item.policy, data)
            assert (passed is not True) == (item.policy["metadata"]["name"] in failed), (
                item.rule.code, obj)
