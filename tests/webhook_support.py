"""Start the real webhook (gunicorn, TLS, generated CA) and build kube-apiserver-shaped
AdmissionReviews."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import trustme


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    ca: trustme.CA
    ca_file: Path
    cert_file: Path
    key_file: Path
    policy_dir: Path
    process: subprocess.Popen[bytes]
    log_file: Path

    def session(self) -> requests.Session:
        session = requests.Session()
        # REQUESTS_CA_BUNDLE in the environment would override session.verify
        session.trust_env = False
        session.verify = str(self.ca_file)
        return session

    def post(self, review: dict[str, Any], session: requests.Session | None = None
             ) -> requests.Response:
        return (session or self.session()).post(f"{self.url}/validate", json=review,
                                                timeout=10)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


def write_cert(ca: trustme.CA, cert_file: Path, key_file: Path) -> trustme.LeafCert:
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    tmp_cert, tmp_key = cert_file.with_suffix(".tmp1"), key_file.with_suffix(".tmp2")
    leaf.cert_chain_pems[0].write_to_path(str(tmp_cert))
    leaf.private_key_pem.write_to_path(str(tmp_key))
    os.replace(tmp_key, key_file)
    os.replace(tmp_cert, cert_file)
    return leaf


def configmap_volume(policy_dir: Path, text: str, generation: int) -> Path:
    """Write the policy the way a ConfigMap volume does: ..data -> ..<ts>/ symlink swap."""
    target = policy_dir / f"..{generation}"
    target.mkdir()
    (target / "policy.yaml").write_text(text)
    tmp_link = policy_dir / "..data_tmp"
    if tmp_link.is_symlink():
        tmp_link.unlink()
    tmp_link.symlink_to(target.name)
    os.replace(tmp_link, policy_dir / "..data")
    link = policy_dir / "policy.yaml"
    if not link.is_symlink():
        link.symlink_to("..data/policy.yaml")
    return link


def start_server(tmp: Path, policy_text: str, env: dict[str, str] | None = None,
                 workers: int = 2) -> Iterator[Server]:
    ca = trustme.CA()
    ca_file, cert_file, key_file = tmp / "ca.pem", tmp / "tls.crt", tmp / "tls.key"
    ca.cert_pem.write_to_path(str(ca_file))
    write_cert(ca, cert_file, key_file)
    policy_dir = tmp / "policy"
    policy_dir.mkdir()
    policy = configmap_volume(policy_dir, policy_text, 1)
    port = free_port()
    log_file = tmp / "server.log"
    process_env = {**os.environ, "OOMGUARD_RELOAD_INTERVAL": "0.5",
                   "OOMGUARD_NAMESPACE": "oomguard-system", **(env or {})}
    process_env.pop("KUBECONFIG", None)
    process_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "webhook", "--cert-file", str(cert_file), "--key-file",
             str(key_file), "--port", str(port), "--bind", "127.0.0.1", "--policy",
             str(policy), "--workers", str(workers)],
            stdout=log, stderr=subprocess.STDOUT, env=process_env, cwd=tmp)
    server = Server(f"https://127.0.0.1:{port}", ca, ca_file, cert_file, key_file, policy_dir,
                    process, log_file)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if server.session().get(f"{server.url}/readyz", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"webhook did not start:\n{server.log()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


running_server = contextlib.contextmanager(start_server)


def wait_for(predicate: Any, seconds: float = 10, every: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False

GROUPS = {"Pod": ("", "v1", "pods"), "Deployment": ("apps", "v1", "deployments"),
          "ConfigMap": ("", "v1", "configmaps"), "Service": ("", "v1", "services"),
          "ReplicaSet": ("apps", "v1", "replicasets")}


def review(obj: dict[str, Any], operation: str = "CREATE", old: dict[str, Any] | None = None,
           namespace: str = "default", dry_run: bool = False,
           sub_resource: str | None = None) -> dict[str, Any]:
    """An AdmissionReview shaped as kube-apiserver sends it."""
    kind = obj["kind"]
    group, version, resource = GROUPS[kind]
    gvk = {"group": group, "version": version, "kind": kind}
    gvr = {"group": group, "version": version, "resource": resource}
    options_kind = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions"}.get(operation,
                                                                             "DeleteOptions")
    request: dict[str, Any] = {
        "uid": str(uuid.uuid4()),
        "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
        "name": obj.get("metadata", {}).get("name"),
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": "kubernetes-admin",
                     "groups": ["system:masters", "system:authenticated"]},
        "object": obj,
        "oldObject": old,
        "dryRun": dry_run,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": options_kind,
                    "fieldManager": "kubectl-client-side-apply"},
    }
    if sub_resource:
        request["subResource"] = sub_resource
        request["requestSubResource"] = sub_resource
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def pod(resources: dict[str, Any] | None = None, name: str = "p",
        owner: str | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner, "name": "o",
                                    "uid": "1", "controller": True}]
    if annotations:
        meta["annotations"] = annotations
    container: dict[str, Any] = {"name": "app", "image": "nginx"}
    if resources is not None:
        container["resources"] = resources
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [container]}}


def deployment(resources: dict[str, Any] | None, name: str = "web") -> dict[str, Any]:
    spec_pod = pod(resources)["spec"]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec_pod}}}


GUARANTEED = {"requests": {"memory": "256Mi", "cpu": "100m"},
              "limits": {"memory": "256Mi", "cpu": "100m"}}
RATIO_WARNING = {"requests": {"memory": "64Mi", "cpu": "100m"}, "limits": {"memory": "256Mi"}}
