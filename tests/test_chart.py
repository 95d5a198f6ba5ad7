"""The Helm chart charts/oomguard, rendered and linted by Helm's own engine (helm-python-sdk:
Helm's Go SDK, no helm binary), offline: no network, no cluster."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.chart_helpers import Manifest, as_yaml_stream, fake_kube_api, find, find_all, objects_of

helm = pytest.importorskip(
    "helm_python", reason="helm-python-sdk (pip install 'oomguard[helm]') is not installed")

CHART = Path(__file__).resolve().parents[1] / "charts" / "oomguard"
RELEASE = "oomguard"
NS = "oomguard-system"
SVC_HOST = f"oomguard.{NS}.svc"
ALL_OPTIONAL = {"serviceMonitor": {"enabled": True}, "networkPolicy": {"enabled": True}}


@pytest.fixture(scope="session")
def chart() -> Any:
    return helm.Chart.load(str(CHART))


def render_manifests(chart: Any, values: dict[str, Any] | None = None) -> dict[str, str]:
    """``helm template oomguard charts/oomguard -n oomguard-system`` with ``values``."""
    rendered: dict[str, str] = chart.render(values or {}, name=RELEASE, namespace=NS,
                                            is_install=True)
    return rendered


def render(chart: Any, values: dict[str, Any] | None = None) -> list[Manifest]:
    return objects_of(render_manifests(chart, values))


@pytest.fixture(scope="session")
def default(chart: Any) -> list[Manifest]:
    return render(chart)


@pytest.fixture(scope="session")
def cert_manager(chart: Any) -> list[Manifest]:
    return render(chart, {"tls": {"mode": "certManager"}})


def container_of(objects: list[Manifest]) -> Manifest:
    containers: list[Manifest] = find(objects, "Deployment")["spec"]["template"]["spec"][
        "containers"]
    assert len(containers) == 1
    return containers[0]


def webhooks_of(objects: list[Manifest]) -> dict[str, Manifest]:
    config = find(objects, "ValidatingWebhookConfiguration")
    return {hook["name"]: hook for hook in config["webhooks"]}


# --- rendering and Helm's lint ---------------------------------------------------------------

def test_default_values_render(default: list[Manifest]) -> None:
    kinds = sorted(obj["kind"] for obj in default)
    assert kinds == sorted(["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap",
                            "Service", "Deployment", "PodDisruptionBudget", "Secret",
                            "ValidatingWebhookConfiguration"])
    namespaced = [o for o in default if not o["kind"].startswith("Cluster")
                  and o["kind"] != "ValidatingWebhookConfiguration"]
    assert {o["metadata"]["namespace"] for o in namespaced} == {NS}
    for obj in default:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "oomguard"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["helm.sh/chart"] == "oomguard-0.1.0"


def test_notes_render(chart: Any) -> None:
    notes = render_manifests(chart)["oomguard/templates/NOTES.txt"]
    assert f"kube-system, {NS} and namespaces labelled oomguard.io/ignore=true" in notes
    assert "WARNING" not in notes
    assert "WARNING: one replica" in render_manifests(chart, {"replicaCount": 1})[
        "oomguard/templates/NOTES.txt"]


@pytest.mark.parametrize("values", [{}, {"tls": {"mode": "certManager"}, **ALL_OPTIONAL}],
                         ids=["defaults", "certManager+optional"])
def test_helm_lint_passes(values: dict[str, Any]) -> None:
    report = helm.lint(str(CHART), values, strict=True, namespace=NS)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []  # 2 warning, 3 error


def test_helm_lint_reports_wrong_values() -> None:
    report = helm.lint(str(CHART), {"tls": {"mode": "bogus"}}, namespace=NS)
    assert any("/tls/mode" in error for error in report["errors"]), report


@pytest.mark.parametrize("values,message", [
    ({"tls": {"mode": "bogus"}}, "at '/tls/mode': value must be one of 'selfSigned', 'certManager'"),
    ({"replicaCount": 0}, "at '/replicaCount': minimum: got 0, want 1"),
    ({"replicaCount": "2"}, "at '/replicaCount'"),
    ({"webhook": {"timeoutSeconds": 99}}, "at '/webhook/timeoutSeconds': maximum: got 99, want 30"),
    ({"webhook": {"timeoutSeconds": 2.5}}, "at '/webhook/timeoutSeconds'"),
    ({"webhook": {"failurePolicy": "Allow"}}, "at '/webhook/failurePolicy': value must be one of"),
    ({"surprise": True}, "additional properties 'surprise' not allowed"),
    ({"cpuAffinity": "on"}, "at '/cpuAffinity': value must be one of 'auto', 'off'"),
    ({"clientLimits": {"headerTimeoutSeconds": 0}}, "at '/clientLimits/headerTimeoutSeconds'"),
    ({"clientLimits": {"maxConnections": 0}}, "at '/clientLimits/maxConnections'"),
    ({"clientLimits": {"idle": 1}}, "additional properties 'idle' not allowed"),
    ({"resources": {"requests": {"cpu": "1", "memory": "1GB"},
                    "limits": {"cpu": "1", "memory": "1GB"}}}, "at '/resources/requests/memory'"),
    ({"resources": {"limits": {"cpu": "1", "memory": 1024}}}, "at '/resources/limits/memory'"),
    ({"resources": {"limits": {"cpu": "1", "memory": "1Gi", "gpu": "1"}}},
     "additional properties 'gpu' not allowed"),
    ({"policy": "extends: strict"}, "at '/policy'"),
    ({"webhook": {"extraRules": [{"apiGroups": ["argoproj.io"]}]}},
     "missing property 'resources'"),
])
def test_values_schema_rejects_wrong_values(chart: Any, values: dict[str, Any],
                                            message: str) -> None:
    with pytest.raises(helm.HelmValuesError) as info:
        render_manifests(chart, values)  # what `helm install` does with these values
    assert message in str(info.value)


def test_resources_must_be_guaranteed(chart: Any) -> None:
    burstable = {"resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                               "limits": {"cpu": "100m", "memory": "256Mi"}}}
    with pytest.raises(helm.HelmRenderError) as info:
        render_manifests(chart, burstable)
    assert "resources.requests.memory (128Mi) must equal resources.limits.memory (256Mi)" in \
        str(info.value)


def test_judge_timeout_must_be_below_the_webhook_timeout(chart: Any) -> None:
    """The webhook answers (webhook.on-timeout) before kube-apiserver gives up on it."""
    with pytest.raises(helm.HelmRenderError) as info:
        render_manifests(chart, {"policy": {"webhook": {"judge-timeout": 5}}})
    assert "policy.webhook.judge-timeout (5) must be below webhook.timeoutSeconds (5)" in \
        str(info.value)
    policy = find(render(chart, {"policy": {"webhook": {"judge-timeout": 8}},
                                 "webhook": {"timeoutSeconds": 10}}), "ConfigMap")
    assert "judge-timeout: 8" in json.dumps(policy["data"])


# --- the Deployment ------------------------------------------------------------------------

def test_deployment_is_guaranteed_and_hardened(default: list[Manifest]) -> None:
    deploy = find(default, "Deployment")
    assert deploy["spec"]["replicas"] == 2
    pod = deploy["spec"]["template"]["spec"]
    container = container_of(default)
    resources = container["resources"]
    assert resources["requests"] == resources["limits"]
    assert set(resources["limits"]) == {"cpu", "memory"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert isinstance(pod["securityContext"]["runAsUser"], int)
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert container["image"] == "ghcr.io/oomguard/oomguard:0.1.0"


def test_probes_are_https_on_the_server_port(default: list[Manifest]) -> None:
    container = container_of(default)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = container[probe]["httpGet"]
        assert (get["scheme"], get["path"]) == ("HTTPS", path)
        assert ports.get(get["port"], get["port"]) == 8443


def test_container_args_env_and_mounts_follow_the_contract(default: list[Manifest]) -> None:
    container = container_of(default)
    args = container["args"]
    assert args[0] == "webhook"
    for arg in ("--cert-file=/etc/oomguard/tls/tls.crt", "--key-file=/etc/oomguard/tls/tls.key",
                "--port=8443", "--policy=/etc/oomguard/policy/policy.yaml",
                "--workers=2", "--threads=8", "--cpu-affinity=auto", "--handshake-timeout=5",
                "--header-timeout=10", "--body-timeout=10", "--keepalive-timeout=75",
                "--max-connections=1000", "--max-pending-mib=64"):
        assert arg in args
    env = {e["name"]: e for e in container["env"]}
    assert env["OOMGUARD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["tls"]["mountPath"] == "/etc/oomguard/tls"
    # the policy ConfigMap is a directory mount (no subPath): its symlink swap reaches the pod
    assert mounts["policy"]["mountPath"] == "/etc/oomguard/policy"
    assert "subPath" not in mounts["policy"]
    pod = find(default, "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["policy"]["configMap"]["name"] == find(default, "ConfigMap")["metadata"]["name"]
    assert volumes["tls"]["secret"]["secretName"] == find(default, "Secret")["metadata"]["name"]
    tmp = volumes[next(n for n, m in mounts.items() if m["mountPath"] == "/tmp")]["emptyDir"]
    assert tmp.get("medium") != "Memory" or "sizeLimit" in tmp


def test_policy_change_does_not_restart_pods(chart: Any) -> None:
    annotations = [find(render(chart, {"policy": policy}), "Deployment")["spec"]["template"][
        "metadata"].get("annotations") for policy in ({"extends": "default"},
                                                      {"extends": "strict"})]
    assert annotations[0] == annotations[1]  # no checksum: the server reloads the file live


def test_policy_configmap_from_values(chart: Any, default: list[Manifest]) -> None:
    policy = {"extends": "strict", "node": {"memory": "16Gi"}}
    cm = find(render(chart, {"policy": policy}), "ConfigMap")
    import yaml

    rendered = yaml.safe_load(cm["data"]["policy.yaml"])
    defaults = yaml.safe_load(find(default, "ConfigMap")["data"]["policy.yaml"])
    # Helm merges the given policy into the chart's default one (its `webhook:` settings stay)
    assert rendered == {**policy, "webhook": defaults["webhook"]}
    dropped = find(render(chart, {"policy": {"webhook": None}}), "ConfigMap")
    assert yaml.safe_load(dropped["data"]["policy.yaml"]) == {"extends": "default"}
    config = pytest.importorskip("oomguard.policies.config")
    parsed = config.parse_policy_text(cm["data"]["policy.yaml"])
    assert parsed.profile == "strict" and parsed.node_memory == 16 * (1 << 30)


def test_pdb_and_topology_spread(chart: Any, default: list[Manifest]) -> None:
    selector = find(default, "Deployment")["spec"]["selector"]["matchLabels"]
    pdb = find(default, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1 and pdb["spec"]["selector"]["matchLabels"] == selector
    spread = find(default, "Deployment")["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert spread[0]["topologyKey"] == "kubernetes.io/hostname"
    assert spread[0]["labelSelector"]["matchLabels"] == selector
    # with a single replica a minAvailable: 1 budget would block every node drain
    assert find_all(render(chart, {"replicaCount": 1}), "PodDisruptionBudget") == []


def test_rbac_is_list_and_watch_on_limitranges_and_nodes_only(default: list[Manifest]) -> None:
    role = find(default, "ClusterRole")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["limitranges", "nodes"],
                              "verbs": ["list", "watch"]}]
    binding = find(default, "ClusterRoleBinding")
    account = find(default, "ServiceAccount")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                                    "namespace": NS}]
    pod = find(default, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert not find_all(default, "Role") and not find_all(default, "RoleBinding")


# --- the webhook configuration ------------------------------------------------------------

def test_webhook_reaches_the_service_and_the_server(default: list[Manifest]) -> None:
    service = find(default, "Service")
    container = container_of(default)
    pod_labels = find(default, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    target = container_ports.get(port["targetPort"], port["targetPort"])
    assert (port["port"], target) == (443, 8443)
    assert f"--port={target}" in container["args"]
    for name, hook in webhooks_of(default).items():
        # an enforcement action's entry (deny.workloads.oomguard.io) calls /validate/deny
        action = name.split(".")[0] if name.count(".") == 3 else None
        assert hook["clientConfig"]["service"] == {
            "name": service["metadata"]["name"], "namespace": NS,
            "path": f"/validate/{action}" if action else "/validate", "port": port["port"]}
        assert hook["admissionReviewVersions"] == ["v1"]
        assert hook["sideEffects"] == "None"


def test_workload_rules_and_namespace_selector(default: list[Manifest]) -> None:
    hook = webhooks_of(default)["workloads.oomguard.io"]
    assert (hook["failurePolicy"], hook["timeoutSeconds"]) == ("Fail", 5)
    covered = {(group, resource) for rule in hook["rules"] for group in rule["apiGroups"]
               for resource in rule["resources"]}
    assert covered == {("", "pods"), ("", "pods/resize"), ("", "podtemplates"),
                       ("", "replicationcontrollers"), ("apps", "replicasets"),
                       ("apps", "deployments"), ("apps", "statefulsets"),
                       ("apps", "daemonsets"), ("batch", "jobs"), ("batch", "cronjobs")}
    assert all(rule["operations"] == ["CREATE", "UPDATE"] for rule in hook["rules"])
    expressions = hook["namespaceSelector"]["matchExpressions"]
    assert {"key": "kubernetes.io/metadata.name", "operator": "NotIn",
            "values": ["kube-system", NS]} in expressions
    assert {"key": "oomguard.io/ignore", "operator": "NotIn", "values": ["true"]} in expressions


def test_kubelet_config_webhook(default: list[Manifest], chart: Any) -> None:
    hook = webhooks_of(default)["kubelet-config.oomguard.io"]
    assert hook["failurePolicy"] == "Ignore"
    assert hook["rules"] == [{"apiGroups": [""], "apiVersions": ["v1"],
                              "operations": ["CREATE", "UPDATE"], "resources": ["configmaps"],
                              "scope": "Namespaced"}]
    assert hook["namespaceSelector"] == {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["kube-system"]}]}
    assert [c["expression"] for c in hook["matchConditions"]] == [
        "object.metadata.name == 'kubelet-config'"]
    off = render(chart, {"webhook": {"kubeletConfig": {"enabled": False}}})
    assert list(webhooks_of(off)) == ["workloads.oomguard.io", "deny.workloads.oomguard.io",
                                      "warn.workloads.oomguard.io", "audit.workloads.oomguard.io"]


def test_values_drive_failure_policy_timeout_and_rules(chart: Any) -> None:
    hooks = webhooks_of(render(chart, {"webhook": {
        "failurePolicy": "Ignore", "timeoutSeconds": 10, "excludeNamespaces": ["sandbox"],
        "kubeletConfig": {"failurePolicy": "Fail"},
        "extraRules": [{"apiGroups": ["argoproj.io"], "resources": ["rollouts"]}]}}))
    workloads = hooks["workloads.oomguard.io"]
    assert (workloads["failurePolicy"], workloads["timeoutSeconds"]) == ("Ignore", 10)
    assert hooks["kubelet-config.oomguard.io"]["failurePolicy"] == "Fail"
    assert {"apiGroups": ["argoproj.io"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
            "resources": ["rollouts"], "scope": "Namespaced"} in workloads["rules"]
    names = workloads["namespaceSelector"]["matchExpressions"][0]["values"]
    assert names == ["kube-system", NS, "sandbox"]


# --- TLS ------------------------------------------------------------------------------------

def test_self_signed_tls(default: list[Manifest]) -> None:
    from cryptography import x509

    secret = find(default, "Secret")
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["metadata"]["name"] == "oomguard-tls"
    assert set(secret["data"]) == {"tls.crt", "tls.key", "ca.crt"}
    for hook in webhooks_of(default).values():
        assert hook["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]
    ca_pem = base64.b64decode(secret["data"]["ca.crt"], validate=True)
    assert ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    ca = x509.load_pem_x509_certificate(ca_pem)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    leaf = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {SVC_HOST, f"{SVC_HOST}.cluster.local"} <= set(names.get_values_for_type(x509.DNSName))
    assert find(default, "Deployment")["metadata"].get("annotations") is None
    assert "cert-manager.io/inject-ca-from" not in (
        find(default, "ValidatingWebhookConfiguration")["metadata"].get("annotations") or {})


def test_self_signed_tls_survives_upgrade(chart: Any, default: list[Manifest]) -> None:
    installed = find(default, "Secret")
    with fake_kube_api([installed]) as url, \
            helm.Config(kube_apiserver=url, namespace=NS, storage_driver="memory") as cluster:
        upgraded = objects_of(cluster.render(chart, {}, name=RELEASE, namespace=NS,
                                             is_upgrade=True))
    assert find(upgraded, "Secret")["data"] == installed["data"]
    for hook in webhooks_of(upgraded).values():
        assert hook["clientConfig"]["caBundle"] == installed["data"]["ca.crt"]


def test_self_signed_tls_is_generated_when_no_secret_exists(chart: Any,
                                                            default: list[Manifest]) -> None:
    with fake_kube_api([]) as url, \
            helm.Config(kube_apiserver=url, namespace=NS, storage_driver="memory") as cluster:
        fresh = find(objects_of(cluster.render(chart, {}, name=RELEASE, namespace=NS,
                                               is_install=True)), "Secret")
    assert fresh["data"]["ca.crt"] != find(default, "Secret")["data"]["ca.crt"]


def test_cert_manager_tls(cert_manager: list[Manifest]) -> None:
    assert find_all(cert_manager, "Secret") == []
    issuers = {i["metadata"]["name"]: i["spec"] for i in find_all(cert_manager, "Issuer")}
    certificates = {c["metadata"]["name"]: c["spec"] for c in find_all(cert_manager, "Certificate")}
    assert issuers == {"oomguard-selfsigned": {"selfSigned": {}},
                       "oomguard-ca": {"ca": {"secretName": "oomguard-ca"}}}
    ca = certificates["oomguard-ca"]
    assert ca["isCA"] is True and ca["issuerRef"]["name"] == "oomguard-selfsigned"
    serving = certificates["oomguard-serving"]
    assert serving["issuerRef"] == {"name": "oomguard-ca", "kind": "Issuer"}
    assert serving["dnsNames"] == [SVC_HOST, f"{SVC_HOST}.cluster.local"]
    pod = find(cert_manager, "Deployment")["spec"]["template"]["spec"]
    tls_volume = next(v for v in pod["volumes"] if v["name"] == "tls")
    assert serving["secretName"] == tls_volume["secret"]["secretName"]
    config = find(cert_manager, "ValidatingWebhookConfiguration")
    assert config["metadata"]["annotations"] == {
        "cert-manager.io/inject-ca-from": f"{NS}/oomguard-serving"}
    assert all("caBundle" not in hook["clientConfig"] for hook in config["webhooks"])


# --- optional objects ----------------------------------------------------------------------

def test_optional_objects_are_off_by_default(default: list[Manifest]) -> None:
    assert find_all(default, "ServiceMonitor") == find_all(default, "NetworkPolicy") == []


def test_service_monitor_and_network_policy(chart: Any) -> None:
    objects = render(chart, ALL_OPTIONAL)
    (endpoint,) = find(objects, "ServiceMonitor")["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["scheme"], endpoint["path"]) == ("https", "https", "/metrics")
    assert endpoint["tlsConfig"]["serverName"] == SVC_HOST
    assert find(objects, "ServiceMonitor")["apiVersion"] == "monitoring.coreos.com/v1"
    policy = find(objects, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress"]
    assert policy["ingress"] == [{"ports": [{"port": 8443, "protocol": "TCP"}]}]


# --- the chart obeys its own rules -----------------------------------------------------------

@pytest.mark.parametrize("profile", ["default", "strict"])
def test_the_chart_obeys_its_own_rules(chart: Any, tmp_path: Path, profile: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    cli = pytest.importorskip("oomguard.cli", reason="the oomguard lint CLI is not there yet")
    manifests = {**render_manifests(chart, ALL_OPTIONAL),
                 **{f"cert-manager/{name}": text for name, text in render_manifests(
                     chart, {"tls": {"mode": "certManager"}, **ALL_OPTIONAL}).items()}}
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(as_yaml_stream(manifests), encoding="utf-8")
    code = cli.main(["lint", "--format", "json", "--profile", profile, str(rendered)])
    report = json.loads(capsys.readouterr().out)
    blocking = [(f["rule"], f["severity"], f.get("path")) for f in report["findings"]
                if f["severity"] in ("error", "warning")]
    assert (code, blocking) == (0, [])
