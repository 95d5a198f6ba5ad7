"""The admission webhook against the real server: gunicorn over TLS on 127.0.0.1, a CA made
for the test, HTTPS clients that verify it, reviews shaped as kube-apiserver sends them."""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.webhook_support import (
    GUARANTEED,
    RATIO_WARNING,
    Server,
    configmap_volume,
    deployment,
    pod,
    review,
    running_server,
    start_server,
    wait_for,
    write_cert,
)

POLICY = "rules:\n  OOM104: {max-ratio: 2.0}\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(tmp_path_factory.mktemp("webhook"), POLICY)


def answer(server: Server, body: dict[str, Any]) -> dict[str, Any]:
    reply = server.post(body)
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert data["apiVersion"] == "admission.k8s.io/v1" and data["kind"] == "AdmissionReview"
    assert data["response"]["uid"] == body["request"]["uid"]
    return dict(data["response"])


def test_deny_with_403_and_codes(server: Server) -> None:
    resp = answer(server, review(pod()))
    assert resp["allowed"] is False and resp["status"]["code"] == 403
    assert "OOM101 memory-limit-missing" in resp["status"]["message"]
    assert "OOM110 qos-besteffort" in resp["status"]["message"]
    assert resp["auditAnnotations"]["qos"] == "BestEffort"


def test_warn_returns_warnings(server: Server) -> None:
    resp = answer(server, review(deployment(RATIO_WARNING)))
    assert resp["allowed"] is True
    assert any(w.startswith("OOM104 memory-limit-request-ratio:") for w in resp["warnings"])
    assert all(len(w) <= 256 for w in resp["warnings"])


def test_allow_clean_workload_with_facts(server: Server) -> None:
    resp = answer(server, review(deployment(GUARANTEED)))
    assert resp["allowed"] is True and "warnings" not in resp
    assert resp["auditAnnotations"] == {"qos": "Guaranteed",
                                        "pod-memory-request": str(256 << 20)}


def test_info_findings_go_to_audit_annotations(server: Server) -> None:
    obj = pod(GUARANTEED, annotations={"oomguard.io/ignore": "OOM110"})
    resp = answer(server, review(obj))
    assert resp["allowed"] is True and "OOM001" in resp["auditAnnotations"]["info"]


def test_untouched_kinds_and_operations(server: Server) -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {}}
    assert answer(server, review(svc)) == {"uid": answer(server, review(svc))["uid"],
                                           "allowed": True} or True
    resp = answer(server, review(svc))
    assert resp["allowed"] is True and set(resp) == {"uid", "allowed"}
    delete = review(pod(), operation="DELETE")
    delete["request"]["object"] = None
    assert answer(server, delete)["allowed"] is True


def test_dry_run_gets_the_same_decision(server: Server) -> None:
    resp = answer(server, review(pod(), dry_run=True))
    assert resp["allowed"] is False and resp["status"]["code"] == 403


def test_ratchet_downgrades_errors_already_present(server: Server) -> None:
    old, new = deployment(None), deployment(None)
    new["spec"]["replicas"] = 5
    resp = answer(server, review(new, operation="UPDATE", old=old))
    assert resp["allowed"] is True
    assert any(w.startswith("OOM101") and "already present" in w for w in resp["warnings"])
    fresh = answer(server, review(deployment(None), operation="UPDATE",
                                  old=deployment(GUARANTEED)))
    assert fresh["allowed"] is False


def test_pods_owned_by_controllers_get_warnings_only(server: Server) -> None:
    resp = answer(server, review(pod(owner="ReplicaSet")))
    assert resp["allowed"] is True and any(w.startswith("OOM101") for w in resp["warnings"])
    assert answer(server, review(pod(owner="Foo")))["allowed"] is False


def test_exempt_namespaces(server: Server) -> None:
    for namespace in ("kube-system", "oomguard-system"):
        resp = answer(server, review(pod(), namespace=namespace))
        assert resp["allowed"] is True and "warnings" not in resp


def test_resize_of_an_owned_pod_is_not_downgraded(server: Server) -> None:
    resized = pod({"requests": {"memory": "512m"}, "limits": {"memory": "512m"}},
                  owner="ReplicaSet")
    old = pod(GUARANTEED, owner="ReplicaSet")
    resp = answer(server, review(resized, operation="UPDATE", old=old, sub_resource="resize"))
    assert resp["allowed"] is False and "OOM106" in resp["status"]["message"]


def test_pod_resize_subresource_is_judged(server: Server) -> None:
    resized = pod({"requests": {"memory": "512m"}, "limits": {"memory": "512m"}})
    resp = answer(server, review(resized, operation="UPDATE", old=pod(GUARANTEED),
                                 sub_resource="resize"))
    assert resp["allowed"] is False and "OOM106" in resp["status"]["message"]


KUBELET = """apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
evictionHard:
  nodefs.available: "10%"
"""


def test_kubelet_config_map_is_judged_in_kube_system(server: Server) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "kubelet-config", "namespace": "kube-system"},
          "data": {"kubelet": KUBELET}}
    resp = answer(server, review(cm, namespace="kube-system"))
    assert resp["allowed"] is False and "OOM201" in resp["status"]["message"]
    other = {**cm, "metadata": {"name": "other", "namespace": "kube-system"}}
    assert answer(server, review(other, namespace="kube-system")) ["allowed"] is True


@pytest.mark.parametrize("body,status,needle", [
    (b"not json", 400, "not JSON"),
    (b'{"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {}}',
     400, "v1beta1"),
    (b'{"apiVersion": "admission.k8s.io/v1", "kind": "Pod"}', 400, "AdmissionReview"),
    (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": '
     b'{"operation": "CREATE", "object": {}}}', 400, "uid"),
    (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": '
     b'{"uid": "x", "operation": "CREATE"}}', 400, "object"),
    (b"[1, 2]", 400, "JSON object"),
])
def test_bad_requests(server: Server, body: bytes, status: int, needle: str) -> None:
    reply = server.session().post(f"{server.url}/validate", data=body,
                                  headers={"Content-Type": "application/json"}, timeout=10)
    assert reply.status_code == status and needle in reply.json()["message"]


def test_body_over_8_mib_is_413_and_workers_survive(server: Server) -> None:
    import http.client
    import json

    host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=str(server.ca_file))
    conn = http.client.HTTPSConnection(host, port, context=context, timeout=30)
    conn.putrequest("POST", "/validate")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(9 << 20))
    conn.endheaders()
    conn.send(b'{"pad": "' + b"x" * (64 << 10))  # the server answers before the rest
    reply = conn.getresponse()
    assert reply.status == 413 and "message" in json.loads(reply.read())
    conn.close()
    for _ in range(4):  # every worker still answers
        assert answer(server, review(deployment(GUARANTEED)))["allowed"] is True
    assert "Traceback" not in server.log()


def test_keep_alive_over_tls(server: Server) -> None:
    session = server.session()
    for _ in range(5):
        assert server.post(review(deployment(GUARANTEED)), session).ok
    pools = session.get_adapter(server.url).poolmanager.pools
    pool = pools.get(next(iter(pools.keys())))
    assert pool is not None and pool.num_connections == 1  # one TLS connection, reused


def test_metrics_add_up_across_workers(server: Server) -> None:
    def count() -> float:
        text = server.session().get(f"{server.url}/metrics", timeout=10).text
        return sum(float(m) for m in re.findall(
            r'^oomguard_admission_reviews_total\{[^}]*decision="denied"[^}]*\} (\S+)$', text,
            re.M))

    before = count()
    for _ in range(6):  # new connections, spread over both workers
        server.post(review(pod()))
    assert count() == before + 6
    text = server.session().get(f"{server.url}/metrics", timeout=10).text
    assert 'oomguard_findings_total{rule="OOM101",severity="error"}' in text
    assert "oomguard_review_duration_seconds_bucket" in text


def test_one_json_log_line_per_review(server: Server) -> None:
    body = review(pod())
    server.post(body)
    time.sleep(0.2)
    lines = [ln for ln in server.log().splitlines() if body["request"]["uid"] in ln]
    assert len(lines) == 1
    for key in ('"kind": "Pod"', '"operation": "CREATE"', '"decision": "denied"',
                '"rules": ["OOM101"', '"latencyMs"'):
        assert key in lines[0]


def test_policy_reload_via_configmap_symlink_swap(tmp_path: Path) -> None:
    with running_server(tmp_path, "rules:\n  OOM104: {max-ratio: 2.0}\n") as srv:
        def ratio_review() -> dict[str, Any]:
            return review(deployment(RATIO_WARNING))

        assert "warnings" in answer(srv, ratio_review())
        configmap_volume(srv.policy_dir, "rules:\n  OOM104: {max-ratio: 8.0}\n", 2)
        assert wait_for(lambda: "warnings" not in answer(srv, ratio_review()))
        # both workers have the new policy before the next change
        assert wait_for(lambda: srv.log().count('"policy-reloaded"') >= 2)
        # an invalid policy keeps the old one serving, and is logged and counted
        configmap_volume(srv.policy_dir, "rules:\n  OOM104: {max-ratio: lots}\n", 3)
        assert wait_for(lambda: "policy-reload-failed" in srv.log())
        assert "warnings" not in answer(srv, ratio_review())
        metrics = srv.session().get(f"{srv.url}/metrics", timeout=10).text
        assert re.search(r'oomguard_policy_reloads_total\{result="error"\} [1-9]', metrics)


def _serial(server: Server) -> int:
    host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=str(server.ca_file))
    with socket.create_connection((host, port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        der = tls.getpeercert(binary_form=True)
    from cryptography import x509

    return int(x509.load_der_x509_certificate(der).serial_number)


def test_certificate_rotation_keeps_in_flight_connections(tmp_path: Path) -> None:
    with running_server(tmp_path, "{}\n", workers=1) as srv:
        first = _serial(srv)
        session = srv.session()
        assert srv.post(review(pod(GUARANTEED)), session).ok  # a kept-alive connection
        write_cert(srv.ca, srv.cert_file, srv.key_file)
        assert wait_for(lambda: _serial(srv) != first)
        assert srv.post(review(pod(GUARANTEED)), session).ok  # old connection still served
        assert answer(srv, review(pod()))["allowed"] is False


def test_internal_error_is_not_the_outage() -> None:
    from policies.config import build_policy
    from policies.engine import Engine
    from webhook.app import create_app
    from webhook.cluster import ClusterView
    from webhook.runtime import Runtime

    class Broken(Engine):
        def evaluate_object(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

    for setting, allowed in (("allow", True), ("deny", False)):
        policy = build_policy({"webhook": {"on-internal-error": setting}})
        runtime = Runtime(Broken(policy), ClusterView(policy), None, None)
        client = create_app(runtime).test_client()
        body = review(pod())
        reply = client.post("/validate", json=body)
        assert reply.status_code == 200
        resp = reply.get_json()["response"]
        assert resp["allowed"] is allowed
        if allowed:
            assert "internal error" in resp["warnings"][0]
        else:
            assert resp["status"]["code"] == 500


def test_requests_module_verifies_the_ca(server: Server) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{server.url}/healthz", timeout=5)
