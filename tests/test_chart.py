"""The Helm chart, rendered and linted by Helm's own engine (helm-python-sdk)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from linter.cli import main
from policies.source import iter_documents

helm = pytest.importorskip("helm_python", reason="the helm extra (helm-python-sdk) is missing")
CHART = Path(__file__).resolve().parents[1] / "charts" / "oomguard"
NS = "oomguard-system"


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    chart = helm.Chart.load(str(CHART))
    manifests = chart.render(values or {}, name="oomguard", namespace=NS, is_install=True)
    objects = []
    for name, text in manifests.items():
        if name.endswith(".yaml"):
            objects.extend(d.data for d in iter_documents(text) if isinstance(d.data, dict))
    return objects


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    for obj in objects:
        if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name):
            return obj
    raise AssertionError(f"no {kind} {name or ''}")


@pytest.fixture(scope="module")
def default() -> list[dict[str, Any]]:
    return render()


def test_helm_lint_passes() -> None:
    report = helm.lint(str(CHART))
    assert not report["errors"]
    assert all(m["severity"] < 3 for m in report["messages"]), report["messages"]


def test_the_chart_obeys_its_own_rules(capsys: pytest.CaptureFixture[str]) -> None:
    for mode in ("selfSigned", "certManager"):
        code = main(["lint", "--format", "json", "--helm", str(CHART), "--namespace", NS,
                     "--set", f"tls.mode={mode}", "--set", "serviceMonitor.enabled=true",
                     "--set", "networkPolicy.enabled=true"])
        data = json.loads(capsys.readouterr().out)
        assert code == 0 and not data["errors"]
        assert [f for f in data["findings"] if f["severity"] in ("error", "warning")] == []
        assert data["objects"][0]["facts"]["qos"] == "Guaranteed"


def test_deployment_is_hardened_and_guaranteed(default: list[dict[str, Any]]) -> None:
    deploy = find(default, "Deployment")
    assert deploy["spec"]["replicas"] == 2
    pod = deploy["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    container = pod["containers"][0]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["requests"] == container["resources"]["limits"]
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert container[probe]["httpGet"]["scheme"] == "HTTPS"
        assert container[probe]["httpGet"]["path"] == path
    assert "--port=8443" in container["args"] and container["args"][0] == "webhook"
    assert find(default, "PodDisruptionBudget")["spec"]["minAvailable"] == 1


def test_webhook_configuration_matches_the_server(default: list[dict[str, Any]]) -> None:
    service = find(default, "Service")
    port = service["spec"]["ports"][0]
    assert port["port"] == 443 and port["targetPort"] == "https"
    container = find(default, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"][0] == {"name": "https", "containerPort": 8443, "protocol": "TCP"}
    config = find(default, "ValidatingWebhookConfiguration")
    workloads, kubelet = config["webhooks"]
    for hook in (workloads, kubelet):
        assert hook["admissionReviewVersions"] == ["v1"] and hook["sideEffects"] == "None"
        svc = hook["clientConfig"]["service"]
        assert svc == {"name": service["metadata"]["name"], "namespace": NS,
                       "path": "/validate", "port": 443}
    assert workloads["failurePolicy"] == "Fail" and workloads["timeoutSeconds"] == 5
    resources = {r for rule in workloads["rules"] for r in rule["resources"]}
    assert {"pods", "pods/resize", "deployments", "cronjobs", "replicationcontrollers"} <= resources
    exprs = workloads["namespaceSelector"]["matchExpressions"]
    assert {"kube-system", NS} <= set(exprs[0]["values"]) and exprs[0]["operator"] == "NotIn"
    assert exprs[1] == {"key": "oomguard.io/ignore", "operator": "NotIn", "values": ["true"]}
    assert kubelet["matchConditions"][0]["expression"] == "object.metadata.name == 'kubelet-config'"
    assert kubelet["rules"][0]["resources"] == ["configmaps"]


def test_values_drive_failure_policy_and_timeout() -> None:
    config = find(render({"webhook": {"failurePolicy": "Ignore", "timeoutSeconds": 10,
                                      "kubeletConfig": {"enabled": False}}}),
                  "ValidatingWebhookConfiguration")
    assert len(config["webhooks"]) == 1
    assert config["webhooks"][0]["failurePolicy"] == "Ignore"
    assert config["webhooks"][0]["timeoutSeconds"] == 10


def test_self_signed_tls(default: list[dict[str, Any]]) -> None:
    secret = find(default, "Secret")
    assert secret["type"] == "kubernetes.io/tls"
    ca = base64.b64decode(secret["data"]["ca.crt"]).decode()
    assert ca.startswith("-----BEGIN CERTIFICATE-----")
    config = find(default, "ValidatingWebhookConfiguration")
    assert all(h["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]
               for h in config["webhooks"])
    from cryptography import x509

    leaf = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert f"oomguard.{NS}.svc" in names.get_values_for_type(x509.DNSName)
    template = (CHART / "templates" / "webhook.yaml").read_text()
    assert 'lookup "v1" "Secret"' in template  # an upgrade reuses the existing CA


def test_cert_manager_tls() -> None:
    objects = render({"tls": {"mode": "certManager"}})
    assert not [o for o in objects if o["kind"] == "Secret"]
    kinds = [o["kind"] for o in objects]
    assert kinds.count("Certificate") == 2 and kinds.count("Issuer") == 2
    config = find(objects, "ValidatingWebhookConfiguration")
    assert config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == \
        f"{NS}/oomguard-serving"
    assert all("caBundle" not in h["clientConfig"] for h in config["webhooks"])


def test_rbac_is_list_and_watch_only(default: list[dict[str, Any]]) -> None:
    role = find(default, "ClusterRole")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["limitranges", "nodes"],
                              "verbs": ["list", "watch"]}]


def test_policy_configmap_from_values() -> None:
    objects = render({"policy": {"extends": "strict", "node": {"memory": "16Gi"}}})
    cm = find(objects, "ConfigMap")
    from policies.config import parse_policy_text

    policy = parse_policy_text(cm["data"]["policy.yaml"])
    assert policy.profile == "strict" and policy.node_memory == 16 * (1 << 30)


@pytest.mark.parametrize("values,needle", [
    ({"tls": {"mode": "bogus"}}, "mode"),
    ({"replicaCount": 0}, "replicaCount"),
    ({"webhook": {"timeoutSeconds": 99}}, "timeoutSeconds"),
    ({"surprise": True}, "surprise"),
    ({"resources": {"requests": {"cpu": "1", "memory": "1GB"},
                    "limits": {"cpu": "1", "memory": "1Gi"}}}, "memory"),
])
def test_values_schema_rejects_wrong_values(values: dict[str, Any], needle: str) -> None:
    chart = helm.Chart.load(str(CHART))
    with pytest.raises(helm.HelmError) as info:
        chart.validate_schema(chart.merge_values(values))
    assert needle in str(info.value)
