"""Object content never reaches the bug fallbacks (the webhook's ``on-internal-error``, the
CLI's "internal error"): odd values anywhere in a pod, a workload, an HPA, a LimitRange or a
kubelet ConfigMap give findings or located input errors, never an exception.

The property tests mutate real objects at random paths with values of the wrong type, huge
numbers and exponents, negative quantities, unicode and deep nesting, and feed them through
the engine as the linter reads them (YAML with positions) and as the webhook does (a parsed
AdmissionReview through the real judge)."""

from __future__ import annotations

import copy
import json
import os
import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomguard.policies.config import PolicyError, build_policy, parse_policy_text
from oomguard.policies.engine import Engine
from oomguard.policies.quantity import MAX_QUANTITY, QuantityError, parse_quantity
from oomguard.policies.workload.limitrange import container_defaults
from oomguard.webhook.review import ClusterFacts, judge, parse_review
from tests.helpers import lint_report
from tests.webhook_support import kubelet_config_map, review

HUGE_EXPONENTS = ["1e1000000", "5e999999", "-5e999999", "1E+999999999", "1e2147483648",
                  "1e4294967296", "9" * 400 + "Ei", "1e-1000000", "0.5e-999999"]
HOSTILE_STRINGS = [
    *HUGE_EXPONENTS, "-1Gi", "-0", "+", "0", "1Gi", "512m", "1e99999999999999999999", "",
    "9" * 5000, "1." + "9" * 5000, ".inf", "NaN", "Memory", "Always", "ünïcødé ☃", "\x00\x1b\x07",
    "-Xmx" + "9" * 5000 + "g", "-Xmx99999999999999999999999t", "-XX:MaxRAMPercentage=" + "9" * 500,
    "--max-old-space-size=" + "9" * 5000, "--max-old-space-size", "9" * 5000 + "MiB", "$(X)",
    "java -Xmx" + "9" * 30 + "m -jar app.jar", "echo 1000 > /proc/self/oom_score_adj",
    "OOM101,OOM999,memory-limit-missing", "system-node-critical", "kube-system",
]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.sampled_from([10**30, -10**30, 2**63, -(2**63) - 1, 2**64, 10**4000]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(HOSTILE_STRINGS),
)


def _nested(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


ODD = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.text(max_size=6), SCALARS,
                                                            max_size=3),
    st.sampled_from([_nested(60), _nested(300)]),
)
# keys the engine reads: added where they are missing, with odd values
KEYS = ["resources", "requests", "limits", "memory", "cpu", "ephemeral-storage",
        "hugepages-2Mi", "sizeLimit", "medium", "emptyDir", "env", "name", "value", "command",
        "args", "restartPolicy", "overhead", "priorityClassName", "securityContext",
        "oomScoreAdj", "volumes", "volumeMounts", "initContainers", "containers",
        "ephemeralContainers", "annotations", "labels", "metadata", "spec", "template",
        "kind", "apiVersion", "ownerReferences", "controller", "lifecycle", "livenessProbe",
        "exec", "namespace", "scaleTargetRef", "metrics", "jobTemplate", "type", "default",
        "defaultRequest", "max", "min", "kubelet"]

CONTAINER = {
    "name": "app", "image": "java:21",
    "command": ["java", "-Xmx512m", "-jar", "app.jar"], "args": ["--max-old-space-size=256"],
    "env": [{"name": "JAVA_TOOL_OPTIONS", "value": "-XX:MaxRAMPercentage=75"},
            {"name": "GOMEMLIMIT", "value": "900MiB"},
            {"name": "NODE_OPTIONS", "value": "--max-old-space-size=300"}],
    "resources": {"requests": {"memory": "256Mi", "cpu": "100m"},
                  "limits": {"memory": "1Gi", "cpu": "1", "ephemeral-storage": "1Gi"}},
    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    "securityContext": {"runAsNonRoot": True},
    "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "sleep 5"]}}},
    "livenessProbe": {"exec": {"command": ["cat", "/proc/self/oom_score_adj"]}},
}
POD_SPEC = {
    "priorityClassName": "system-node-critical",
    "initContainers": [{"name": "init", "image": "busybox", "restartPolicy": "Always",
                        "resources": {"limits": {"memory": "64Mi"}}}],
    "containers": [CONTAINER, {"name": "side", "image": "nginx"}],
    "volumes": [{"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}},
                {"name": "disk", "emptyDir": {"sizeLimit": "10Gi"}}],
    "overhead": {"memory": "10Mi"},
}
META = {"name": "web", "namespace": "default", "labels": {"app": "web"},
        "annotations": {"oomguard.io/ignore": "OOM102", "oomguard.io/ignore-reason": "test"}}
OBJECTS: dict[str, dict[str, Any]] = {
    "Pod": {"apiVersion": "v1", "kind": "Pod", "metadata": META, "spec": POD_SPEC},
    "Deployment": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": META,
                   "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}},
                                         "spec": POD_SPEC}}},
    "CronJob": {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": META,
                "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {
                    "spec": POD_SPEC}}}}},
}
HPA = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
       "metadata": {"name": "web", "namespace": "default"},
       "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                   "name": "web"},
                "metrics": [{"type": "Resource", "resource": {
                    "name": "memory", "target": {"type": "Utilization",
                                                 "averageUtilization": 80}}}]}}
LIMIT_RANGE = {"apiVersion": "v1", "kind": "LimitRange",
               "metadata": {"name": "lr", "namespace": "default"},
               "spec": {"limits": [{"type": "Container", "default": {"memory": "512Mi"},
                                    "defaultRequest": {"memory": "256Mi"},
                                    "max": {"memory": "2Gi"}}]}}
KUBELET = ("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
           "evictionHard: {memory.available: 100Mi}\nevictionSoft: {memory.available: 1Gi}\n"
           "evictionSoftGracePeriod: {memory.available: 1m}\n"
           "systemReserved: {memory: 1Gi}\nkubeReserved: {memory: 500Mi}\n"
           "enforceNodeAllocatable: [pods]\nmemoryManagerPolicy: Static\n"
           "reservedMemory: [{numaNode: 0, limits: {memory: 1600Mi}}]\n")
KUBELET_VALUES = ["1e1000000", "5e999999", "-1Gi", "10%", "1e2147483648", "0x1p99999999999%",
                  "1e99999%", "9" * 5000 + "Mi", "-5e999999", "ünï"]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*path, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_paths(value, (*path, i)))
    return found


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(obj)
        path = draw(st.sampled_from(paths))
        value = copy.deepcopy(draw(ODD))  # (the nested samples are shared)
        target = _get(obj, path)
        if isinstance(target, dict) and draw(st.booleans()):
            target[draw(st.sampled_from(KEYS))] = value  # add (or replace) a key it reads
        elif path:
            _get(obj, path[:-1])[path[-1]] = value
    return obj


ENGINE = Engine(build_policy({"rules": {"OOM109": {"enabled": True},
                                        "OOM115": {"enabled": True}}}))
CLUSTER = ClusterFacts(limit_ranges={"default": [container_defaults(LIMIT_RANGE)]},
                       node_memory=Decimal(16 << 30), node_allocatable=Decimal(15 << 30))
PROPERTY = settings(max_examples=int(os.environ.get("OOMGUARD_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _judged(obj: dict[str, Any], kind: str) -> Any:
    # through JSON as kube-apiserver sends it (Python's json writes NaN/Infinity, which the
    # webhook's orjson refuses with a 400: such a review never reaches the judge)
    envelope = review({"kind": kind, "metadata": {"name": "web"}}, kind=kind)
    envelope["request"]["object"] = obj  # (whatever its metadata holds)
    body = json.dumps(envelope)
    return judge(parse_review(json.loads(body)), ENGINE, CLUSTER, "oomguard",
                 may_hold_oom_score_adj="oomScoreAdj" in body)


@pytest.mark.parametrize("kind", sorted(OBJECTS))
@PROPERTY
@given(data=st.data())
def test_odd_values_never_make_judging_fail(kind: str, data: st.DataObject) -> None:
    obj = data.draw(mutated(OBJECTS[kind]))
    hpa = data.draw(st.one_of(st.just(HPA), mutated(HPA)))
    limit_range = data.draw(st.one_of(st.just(LIMIT_RANGE), mutated(LIMIT_RANGE)))
    # the linter: YAML text (JSON is YAML) read with positions, with an HPA and a LimitRange
    text = "\n---\n".join(json.dumps(o, default=str) for o in (limit_range, obj, hpa))
    report = lint_report(text)
    assert all(f.rule.startswith("OOM") for f in report.findings)
    for error in report.errors:  # a located input error, not a crash
        assert error.message and not error.message.startswith("internal error"), error
    # the webhook: the judge never raises, so on-internal-error is never asked
    if kind in ("Pod", "Deployment", "CronJob") and _finite(obj) and \
            isinstance(obj.get("kind"), str) and obj.get("kind") in OBJECTS:
        decision = _judged(obj, obj["kind"])
        assert decision.reason != "error"


def _finite(node: Any) -> bool:
    if isinstance(node, float):
        return node == node and node not in (float("inf"), float("-inf"))
    if isinstance(node, dict):
        return all(_finite(v) for v in node.values())
    if isinstance(node, list):
        return all(_finite(v) for v in node)
    return True


@PROPERTY
@given(data=st.data())
def test_odd_kubelet_config_never_makes_judging_fail(data: st.DataObject) -> None:
    lines = KUBELET.splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        value = data.draw(st.sampled_from(KUBELET_VALUES))
        i = data.draw(st.integers(2, len(lines) - 1))
        key = lines[i].split(":", 1)[0]
        lines[i] = f"{key}: {{memory.available: {json.dumps(value)}, memory: {json.dumps(value)}}}" \
            if "{" in lines[i] else f"{key}: {json.dumps(value)}"
    text = "\n".join(lines) + "\n"
    report = lint_report(text)  # a KubeletConfiguration document
    assert not [e for e in report.errors if e.message.startswith("internal error")]
    config_map = kubelet_config_map(text)
    body = json.dumps(review(config_map, namespace="kube-system", kind="ConfigMap"))
    decision = judge(parse_review(json.loads(body)), ENGINE, CLUSTER, "oomguard")
    assert decision.reason != "error"


# -- quantities saturate as ParseQuantity does --------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("1e1000000", MAX_QUANTITY), ("5e999999", MAX_QUANTITY), ("-5e999999", -MAX_QUANTITY),
    ("8Ei", MAX_QUANTITY), ("7Ei", Decimal(7 << 60)), ("9223372036854775808", MAX_QUANTITY),
    ("9223372036854775807", MAX_QUANTITY), ("9" * 5000 + "Ki", MAX_QUANTITY),
    # below one nano unit: rounded up (away from zero) to 1n
    ("1e-1000000", Decimal("1e-9")), ("-1e-12", Decimal("-1e-9")),
    ("1.0000000001", Decimal("1.000000001")),
    # suffix.go reads the exponent as int64, then int32(): it wraps
    ("1e4294967296", Decimal(1)), ("1e4294967299", Decimal(1000)),
    ("1e2147483648", Decimal("1e-9")),
])
def test_quantities_saturate_like_parse_quantity(text: str, expected: Decimal) -> None:
    started = time.perf_counter()
    assert parse_quantity(text) == expected
    assert time.perf_counter() - started < 0.05


@pytest.mark.parametrize("text", ["1e9223372036854775808", "1e" + "9" * 5000, "1e-9223372036854775809"])
def test_exponent_past_int64_is_rejected_like_the_api_server(text: str) -> None:
    with pytest.raises(QuantityError, match="suffix"):
        parse_quantity(text)


def test_a_megabyte_of_digits_is_linear() -> None:
    started = time.perf_counter()
    assert parse_quantity("1" * (1 << 20) + "Gi") == MAX_QUANTITY
    with pytest.raises(QuantityError):
        parse_quantity("1" * (1 << 20) + "x")  # no backtracking on the way to "no"
    assert time.perf_counter() - started < 1.0


# -- negative quantities: the API server rejects them -------------------------------------------

NEGATIVE_POD = """apiVersion: v1
kind: Pod
metadata: {name: neg}
spec:
  containers:
  - name: app
    image: nginx
    resources:
      limits: {memory: -1Gi}
  volumes:
  - name: v
    emptyDir: {sizeLimit: -5e999999}
"""


def test_negative_quantity_is_a_located_input_error_not_no_limit() -> None:
    report = lint_report(NEGATIVE_POD)
    assert report.findings == []  # not BestEffort (OOM110), not "no memory limit" (OOM101)
    assert [(p.line, p.column) for p in report.errors] == [(9, 16), (12, 16)]
    assert "spec.containers[0].resources.limits.memory: '-1Gi' must be greater than or equal " \
           "to 0" in report.errors[0].message
    assert "spec.volumes[0].emptyDir.sizeLimit" in report.errors[1].message


def test_webhook_denies_a_negative_quantity_with_the_reason() -> None:
    obj = copy.deepcopy(OBJECTS["Deployment"])
    obj["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "-1"
    decision = _judged(obj, "Deployment")
    assert not decision.allowed and decision.code == 403 and decision.reason == "denied"
    assert "spec.template.spec.containers[0].resources.requests.cpu: '-1' must be greater " \
           "than or equal to 0" in (decision.message or "")


# -- the policy schema: numbers that mean nothing -----------------------------------------------

@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "-1", "0.5"])
def test_policy_rejects_meaningless_max_ratio(value: str) -> None:
    text = f"rules:\n  OOM104:\n    max-ratio: {value}\n"
    with pytest.raises(PolicyError) as caught:
        parse_policy_text(text, "p.yaml")
    message = str(caught.value)
    assert message.startswith("p.yaml: line 3, column 5: rules.OOM104.max-ratio: "), message


@pytest.mark.parametrize("text,key", [
    ("rules:\n  OOM131:\n    max-fraction: .nan\n", "rules.OOM131.max-fraction"),
    ("rules:\n  OOM109:\n    enabled: true\n    max: -1Gi\n", "rules.OOM109.max"),
    ("node:\n  memory: -16Gi\n", "node.memory"),
])
def test_policy_rejects_other_meaningless_numbers(text: str, key: str) -> None:
    with pytest.raises(PolicyError, match=key.replace(".", r"\.")):
        parse_policy_text(text, "p.yaml")


def test_policy_with_a_huge_quantity_saturates() -> None:
    policy = parse_policy_text("node:\n  memory: 1e1000000\n", "p.yaml")
    assert policy.node_memory == MAX_QUANTITY


# -- the CLI, in a child process under a time and an address-space limit ------------------------

HOSTILE_PODS = [
    ("disk", "  volumes:\n  - name: v\n    emptyDir: {sizeLimit: \"1e1000000\"}\n", ""),
    ("stall", "", "    resources: {limits: {memory: 5e999999}}\n"),
    ("negative", "", "    resources: {limits: {memory: -1Gi}}\n"),
    ("heap", "", "    resources: {limits: {memory: 1Gi}}\n    command: [java, -Xmx"
     + "9" * 5000 + "g]\n"),
    ("other", "", ""),
]


def test_lint_judges_hostile_quantities_quickly_and_lints_the_rest(tmp_path: Any) -> None:
    from tests.bounded import run_bounded

    docs = []
    for name, spec_extra, container_extra in HOSTILE_PODS:
        docs.append(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n"
                    f"  containers:\n  - name: app\n    image: nginx\n{container_extra}"
                    f"{spec_extra}")
    path = tmp_path / "hostile.yaml"
    path.write_text("---\n".join(docs))
    started = time.monotonic()
    outcome = run_bounded(["lint", "--format", "json", str(path)], timeout=20)
    assert time.monotonic() - started < 10  # was: 90 s on the second pod
    assert "Traceback" not in outcome.stderr and outcome.code == 2, outcome.stderr
    data = json.loads(outcome.stdout)
    assert [(e["line"], e["column"], e["message"]) for e in data["errors"]] == [
        (28, 26, "Pod negative: spec.containers[0].resources.limits.memory: '-1Gi' must be "
                 "greater than or equal to 0 (the API server rejects a negative quantity)")]
    found = {(f["object"]["name"], f["rule"]) for f in data["findings"]}
    assert {("disk", "OOM101"), ("other", "OOM101"), ("heap", "OOM130")} <= found
    assert not any(name in ("stall", "negative") for name, _ in found)
    assert not any("internal error" in e["message"] for e in data["errors"])


# -- the judge's time budget ------------------------------------------------------------------

def test_a_spent_budget_stops_judging_with_judge_timeout() -> None:
    from oomguard.policies.budget import Deadline, JudgeTimeout

    spent = Deadline(0.001)
    time.sleep(0.01)
    with pytest.raises(JudgeTimeout, match=r"not judged within 0\.001s"):
        ENGINE.evaluate_object(copy.deepcopy(OBJECTS["Deployment"]), deadline=spent)
    body = json.dumps(review(copy.deepcopy(OBJECTS["Pod"])))
    with pytest.raises(JudgeTimeout):
        judge(parse_review(json.loads(body)), ENGINE, CLUSTER, "oomguard", deadline=spent)
    # a budget not spent changes nothing
    assert ENGINE.evaluate_object(copy.deepcopy(OBJECTS["Pod"]), deadline=Deadline(30)) \
        .findings == ENGINE.evaluate_object(copy.deepcopy(OBJECTS["Pod"])).findings


@pytest.mark.parametrize("setting,allowed", [("deny", False), ("allow", True)])
def test_on_timeout_answers(setting: str, allowed: bool) -> None:
    from oomguard.policies.budget import JudgeTimeout
    from oomguard.webhook.app import _timed_out

    policy = build_policy({"webhook": {"on-timeout": setting, "judge-timeout": 1.5}})
    request = parse_review(review(copy.deepcopy(OBJECTS["Pod"])))
    decision = _timed_out(policy, request, JudgeTimeout(1.5))
    text = ("oomguard could not judge Pod default/web within 1.5s (webhook.judge-timeout); "
            + ("allowed unjudged (webhook.on-timeout: allow)" if allowed
               else "denied (webhook.on-timeout: deny)"))
    assert decision.allowed is allowed and decision.reason == "timeout"
    assert (list(decision.warnings) if allowed else decision.message) == \
        ([text] if allowed else text)


@pytest.mark.parametrize("value", ["0", "31", ".nan", "soon"])
def test_judge_timeout_setting_is_checked(value: str) -> None:
    with pytest.raises(PolicyError, match="webhook.judge-timeout"):
        parse_policy_text(f"webhook:\n  judge-timeout: {value}\n", "p.yaml")
