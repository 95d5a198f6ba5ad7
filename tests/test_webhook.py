"""The admission webhook against the real server: gunicorn over TLS on 127.0.0.1, a CA made
for the test, HTTPS clients that verify it, reviews shaped as kube-apiserver sends them."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import ssl
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.webhook_support import (
    GUARANTEED,
    RATIO_WARNING,
    FakeAPI,
    Server,
    client_context,
    configmap_volume,
    connections_by_worker,
    cpus_of,
    deployment,
    kubelet_config_map,
    limit_range,
    node,
    pod,
    review,
    running_server,
    served_serial,
    serving,
    start_server,
    wait_for,
    write_cert,
)

POLICY = """rules:
  OOM104: {max-ratio: 2.0}
kinds:
  - {apiVersion: argoproj.io/v1alpha1, kind: Rollout, podTemplate: spec.template}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(tmp_path_factory.mktemp("webhook"), POLICY)


def answer(server: Server, body: dict[str, Any],
           session: requests.Session | None = None) -> dict[str, Any]:
    reply = server.post(body, session)
    assert reply.status_code == 200, reply.text
    assert reply.headers["Content-Type"] == "application/json"
    data = reply.json()
    assert data["apiVersion"] == "admission.k8s.io/v1" and data["kind"] == "AdmissionReview"
    assert data["response"]["uid"] == body["request"]["uid"]
    return dict(data["response"])


def metric(server: Server, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    total = 0.0
    for line in server.get("/metrics").text.splitlines():
        match = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if not match:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


# -- decisions --------------------------------------------------------------------------------


def test_deny_with_403_and_codes(server: Server) -> None:
    resp = answer(server, review(pod()))
    assert resp["allowed"] is False and resp["status"]["code"] == 403
    assert resp["status"]["reason"] == "Forbidden"
    message = resp["status"]["message"]
    assert message.startswith("oomguard denied Pod default/p: ")
    assert "OOM101 memory-limit-missing: " in message and "OOM110 qos-besteffort: " in message
    assert resp["auditAnnotations"]["qos"] == "BestEffort"


def test_warn_returns_warnings(server: Server) -> None:
    resp = answer(server, review(deployment(RATIO_WARNING)))
    assert resp["allowed"] is True and "status" not in resp
    assert any(w.startswith("OOM104 memory-limit-request-ratio: ") for w in resp["warnings"])
    assert all(len(w) <= 256 for w in resp["warnings"])


def test_allow_clean_workload_with_facts(server: Server) -> None:
    resp = answer(server, review(deployment(GUARANTEED)))
    assert resp["allowed"] is True and "warnings" not in resp
    assert resp["auditAnnotations"] == {"qos": "Guaranteed",
                                        "pod-memory-request": str(256 << 20)}


def test_info_findings_go_to_audit_annotations(server: Server) -> None:
    obj = pod(GUARANTEED, annotations={"oomguard.io/ignore": "OOM110"})
    resp = answer(server, review(obj))
    assert resp["allowed"] is True and "OOM001 ignore-unmatched" in resp["auditAnnotations"]["info"]


def test_untouched_kinds_and_operations(server: Server) -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
               "spec": {"ports": [{"port": 80}]}}
    body = review(service)
    assert answer(server, body) == {"uid": body["request"]["uid"], "allowed": True}
    for body in (review(None, operation="DELETE", old=pod(), kind="Pod"),
                 review(pod(), operation="UPDATE", old=pod(), sub_resource="status")):
        resp = answer(server, body)
        assert resp == {"uid": body["request"]["uid"], "allowed": True}


def test_kinds_mapped_in_the_policy_are_judged(server: Server) -> None:
    rollout = {**deployment(None, name="canary"), "apiVersion": "argoproj.io/v1alpha1",
               "kind": "Rollout"}
    resp = answer(server, review(rollout))
    assert resp["allowed"] is False
    assert resp["status"]["message"].startswith("oomguard denied Rollout default/canary: ")
    fine = {**deployment(GUARANTEED), "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout"}
    assert answer(server, review(fine))["auditAnnotations"]["qos"] == "Guaranteed"


def test_dry_run_gets_the_same_decision(server: Server) -> None:
    resp = answer(server, review(pod(), dry_run=True))
    assert resp["allowed"] is False and resp["status"]["code"] == 403


def test_ratchet_downgrades_errors_already_present(server: Server) -> None:
    old, new = deployment(None), deployment(None, replicas=5)
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
        body = review(pod(), namespace=namespace)
        assert answer(server, body) == {"uid": body["request"]["uid"], "allowed": True}


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
    cm = kubelet_config_map(KUBELET)
    resp = answer(server, review(cm, namespace="kube-system"))
    assert resp["allowed"] is False and "OOM201" in resp["status"]["message"]
    other = kubelet_config_map(KUBELET, name="other")
    assert answer(server, review(other, namespace="kube-system"))["allowed"] is True


# -- bad requests -----------------------------------------------------------------------------

V1BETA1 = {**review(pod()), "apiVersion": "admission.k8s.io/v1beta1"}


@pytest.mark.parametrize("body,status,needle", [
    (b"not json", 400, "not JSON"),
    (b"\xff\xfe{}", 400, "not JSON"),
    (json.dumps(V1BETA1).encode(), 400, "v1beta1"),
    (b'{"apiVersion": "admission.k8s.io/v1", "kind": "Pod"}', 400, "AdmissionReview"),
    (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": '
     b'{"operation": "CREATE", "kind": {"kind": "Pod"}, "object": {}}}', 400, "uid"),
    (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": '
     b'{"uid": "x", "kind": {"kind": "Pod"}, "operation": "CREATE"}}', 400, "object"),
    (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": '
     b'{"uid": "x", "kind": "Pod", "operation": "CREATE", "object": {}}}', 400, "kind"),
    (b"[1, 2]", 400, "JSON object"),
])
def test_bad_requests(server: Server, body: bytes, status: int, needle: str) -> None:
    reply = server.session().post(f"{server.url}/validate", data=body,
                                  headers={"Content-Type": "application/json"}, timeout=10)
    assert reply.status_code == status and needle in reply.json()["message"]
    assert reply.headers["Content-Type"] == "application/json"


def _raw_post(server: Server, headers: dict[str, str], chunks: Iterator[bytes]
              ) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPSConnection("127.0.0.1", server.port,
                                       context=client_context(server.ca_file), timeout=30)
    try:
        conn.putrequest("POST", "/validate")
        for key, value in headers.items():
            conn.putheader(key, value)
        conn.endheaders()
        try:
            for chunk in chunks:
                conn.send(chunk)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the server answered and closed before the whole body was sent
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        conn.close()


def test_bodies_over_8_mib_are_413_and_every_worker_survives(server: Server) -> None:
    workers = sorted(server.worker_pids())
    before = metric(server, "oomguard_bad_requests_total", status="413")
    # declared too long: answered before the body is read
    status, body = _raw_post(server, {"Content-Type": "application/json",
                                      "Content-Length": str(9 << 20)},
                             iter([b'{"pad": "' + b"x" * (64 << 10)]))
    assert status == 413 and "at most" in body["message"]
    # chunked, no length: the reading is capped
    piece = b"x" * (1 << 20)
    chunks = (b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(10))
    status, body = _raw_post(server, {"Content-Type": "application/json",
                                      "Transfer-Encoding": "chunked"}, chunks)
    assert status == 413 and body["message"] == f"the body is over {8 << 20} bytes"
    assert metric(server, "oomguard_bad_requests_total", status="413") == before + 2
    for _ in range(4):  # every worker still answers, none was replaced
        assert answer(server, review(deployment(GUARANTEED)))["allowed"] is True
    assert sorted(server.worker_pids()) == workers
    assert "Traceback" not in server.log()


def test_bad_requests_are_logged_and_counted(server: Server) -> None:
    before = metric(server, "oomguard_bad_requests_total", status="400")
    server.session().post(f"{server.url}/validate", data=b"{", timeout=10)
    assert metric(server, "oomguard_bad_requests_total", status="400") == before + 1
    assert wait_for(lambda: any(e["status"] == 400 and "not JSON" in e["error"]
                                for e in server.events("bad-request")))


# -- serving ----------------------------------------------------------------------------------


def _connections(session: requests.Session, url: str) -> int:
    """How many connections the session opened to the server."""
    adapter = session.get_adapter(url)
    assert isinstance(adapter, requests.adapters.HTTPAdapter)
    return sum(pool.num_connections for pool in adapter.poolmanager.pools._container.values())


def _answered_sessions(server: Server, count: int) -> list[requests.Session]:
    """``count`` sessions, each with one kept-alive connection that answered a review (held
    open as long as the caller holds the sessions)."""
    sessions = [server.session() for _ in range(count)]
    for session in sessions:
        assert answer(server, review(pod(GUARANTEED)), session)["allowed"]
    return sessions


def test_keep_alive_over_tls(server: Server) -> None:
    session = server.session()
    for _ in range(5):
        assert answer(server, review(deployment(GUARANTEED)), session)["allowed"]
    assert _connections(session, server.url) == 1  # one TLS connection, reused


def test_one_thread_serves_many_kept_alive_connections(tmp_path: Path) -> None:
    # one worker with one thread: a thread runs the app on whole requests only and never
    # waits on a connection (webhook/worker.py), so connections alternate freely on it
    with running_server(tmp_path, None, workers=1, threads=1) as srv:
        sessions = [srv.session() for _ in range(4)]
        for round_ in range(3):
            for session in sessions:
                started = time.monotonic()
                assert answer(srv, review(pod(GUARANTEED)), session)["allowed"]
                assert time.monotonic() - started < 1.0, round_
        time.sleep(0.5)  # idle, still kept alive
        for session in sessions:
            assert answer(srv, review(pod(GUARANTEED)), session)["allowed"]
            assert _connections(session, srv.url) == 1
        assert "Traceback" not in srv.log()


def _reset_mid_request(server: Server) -> None:
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    tls = client_context(server.ca_file).wrap_socket(raw, server_hostname="127.0.0.1")
    body = json.dumps(review(pod(GUARANTEED))).encode()
    tls.sendall(b"POST /validate HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json"
                b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    tls.close()  # an RST, no TLS close_notify, the answer unread


def test_long_lived_connections_are_spread_evenly_over_the_workers(tmp_path: Path) -> None:
    # kube-apiserver's few keep-alive connections decide each worker's load. Left to the
    # race for accept on the shared socket, most land on one worker (12/0 and 11/1 here);
    # with SO_REUSEPORT's hash 12 of them split 6/6 about one time in five
    with running_server(tmp_path, None, workers=2) as srv:
        sessions = _answered_sessions(srv, 12)
        spread = connections_by_worker(srv)
        assert sum(spread.values()) == 12 and max(spread.values()) - min(spread.values()) <= 1
        # clients that vanish mid-request (a reset, as a stopped load generator leaves) are
        # counted off once
        for _ in range(10):
            _reset_mid_request(srv)
        # connections that close make room: new ones go to the worker that lost them
        for session in sessions[:6]:
            session.close()
        assert wait_for(lambda: sum(connections_by_worker(srv).values()) == 6)
        sessions += _answered_sessions(srv, 6)
        spread = connections_by_worker(srv)
        assert sum(spread.values()) == 12 and max(spread.values()) - min(spread.values()) <= 1


def test_a_stopping_worker_does_not_hold_the_others_back(tmp_path: Path) -> None:
    # a stopping worker accepts nothing; if its count still counted, the other worker (with
    # as many or more connections) would defer to it until it exits. The stopping worker is
    # kept alive by a request in flight, so the new connection must be served while it
    # still runs.
    with running_server(tmp_path, None, workers=2) as srv:
        sessions = _answered_sessions(srv, 3)
        before = connections_by_worker(srv)
        conn, rest = _half_sent_review(srv)
        after = connections_by_worker(srv)
        (stopping,) = [pid for pid in after if after[pid] > before.get(pid, 0)]
        os.kill(stopping, signal.SIGTERM)
        # its idle connections closed at once; the request in flight keeps it running
        assert wait_for(lambda: connections_by_worker(srv).get(stopping) == 1)
        newcomer = srv.session()
        assert answer(srv, review(pod(GUARANTEED)), newcomer)["allowed"]
        assert stopping in srv.worker_pids()  # still stopping, and it held nobody back
        conn.send(rest)  # the request in flight is still answered
        reply = conn.getresponse()
        assert reply.status == 200 and json.loads(reply.read())["response"]["allowed"] is False
        assert reply.headers["Connection"] == "close"
        conn.close()
        assert "Traceback" not in srv.log()
        for session in [*sessions, newcomer]:  # held open until here
            session.close()


def _half_sent_review(server: Server) -> tuple[http.client.HTTPSConnection, bytes]:
    """A review in flight: its headers and half of its body sent; returns the rest."""
    body = json.dumps(review(pod())).encode()
    conn = http.client.HTTPSConnection("127.0.0.1", server.port,
                                       context=client_context(server.ca_file), timeout=10)
    conn.putrequest("POST", "/validate")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    conn.send(body[:len(body) // 2])
    time.sleep(0.2)
    return conn, body[len(body) // 2:]


def test_a_stop_answers_the_request_in_flight_and_does_not_wait_for_idle_ones(
        tmp_path: Path) -> None:
    with running_server(tmp_path, None, workers=1) as srv:
        idle = srv.session()
        assert answer(srv, review(pod(GUARANTEED)), idle)["allowed"]  # kept alive, idle
        conn, rest = _half_sent_review(srv)
        stopped_at = time.monotonic()
        srv.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        conn.send(rest)
        reply = conn.getresponse()
        assert reply.status == 200 and json.loads(reply.read())["response"]["allowed"] is False
        conn.close()
        srv.process.wait(timeout=15)
        # the kept-alive connections are closed at once, not after the 20 s graceful
        # timeout nor the 75 s keep-alive
        assert time.monotonic() - stopped_at < 10
        assert "Traceback" not in srv.log()


def test_requests_in_a_row_on_one_connection_are_all_answered(server: Server) -> None:
    # two sessions interleaved on kept-alive connections
    sessions = [server.session(), server.session()]
    for i in range(40):
        body = review(pod() if i % 3 else pod(GUARANTEED))
        assert answer(server, body, sessions[i % 2])["allowed"] is (i % 3 == 0)
    assert all(_connections(s, server.url) == 1 for s in sessions)


def test_health_and_readiness(server: Server) -> None:
    assert server.get("/healthz").json() == {"status": "ok"}
    ready = server.get("/readyz").json()
    assert ready["status"] == "ready" and ready["cluster"] == "fallback"
    assert ready["policy"].endswith("policy.yaml")
    assert server.get("/nope").status_code == 404


def test_plain_http_and_untrusted_clients_are_refused(server: Server) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{server.url}/healthz", timeout=5)  # the system CAs do not know ours
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{server.port}/healthz", timeout=5)


def test_metrics_add_up_across_workers(server: Server) -> None:
    # each worker adds its tallies to the shared files within 0.1 s of a review: let the
    # earlier tests' counts land before reading the baseline
    time.sleep(1.5)
    reviews = {"kind": "Pod", "operation": "CREATE", "decision": "denied"}
    before = metric(server, "oomguard_admission_reviews_total", **reviews)
    findings = metric(server, "oomguard_findings_total", rule="OOM101", severity="error")
    count = metric(server, "oomguard_review_duration_seconds_count")
    for _ in range(6):  # new connections, spread over both workers
        server.post(review(pod()))
    assert wait_for(lambda: metric(server, "oomguard_admission_reviews_total", **reviews)
                    == before + 6)
    assert metric(server, "oomguard_findings_total", rule="OOM101", severity="error") == \
        findings + 6
    assert metric(server, "oomguard_review_duration_seconds_count") == count + 6
    # cumulative buckets: the +Inf bucket is the count, and no bucket is above it
    buckets = [metric(server, "oomguard_review_duration_seconds_bucket", le=le)
               for le in ("0.0005", "0.001", "0.01", "1.0", "+Inf")]
    assert buckets == sorted(buckets) and buckets[-1] == count + 6
    assert metric(server, "oomguard_review_duration_seconds_sum") > 0
    # nothing more arrives later: each review was counted once
    time.sleep(1.5)
    assert metric(server, "oomguard_admission_reviews_total", **reviews) == before + 6
    text = server.get("/metrics").text
    assert "# TYPE oomguard_review_duration_seconds histogram" in text
    assert "oomguard_policy_reloads_total" in text or "oomguard_internal_errors_total" in text


def test_a_stopping_worker_adds_its_tallies_and_writes_its_log_lines(tmp_path: Path) -> None:
    # no timed flush in this run: the counts reach the files only when a worker answers
    # /metrics or exits, the review lines reach stderr only when a batch is full or the
    # worker exits
    env = {"OOMGUARD_METRICS_FLUSH": "3600", "OOMGUARD_LOG_FLUSH": "3600"}
    with running_server(tmp_path, None, env=env) as srv:
        pids = srv.worker_pids()
        bodies = [review(pod()) for _ in range(8)]
        for body in bodies:
            srv.post(body)
        time.sleep(0.3)
        assert not any(b["request"]["uid"] in srv.log() for b in bodies)  # buffered
        for pid in pids:  # gunicorn stops each gracefully and starts another
            os.kill(pid, signal.SIGTERM)
        assert wait_for(lambda: len(srv.worker_pids()) == 2 and
                        not set(pids) & set(srv.worker_pids()), seconds=30)
        assert metric(srv, "oomguard_admission_reviews_total", kind="Pod",
                      decision="denied") == 8
        assert metric(srv, "oomguard_review_duration_seconds_count") == 8
        logged = [e["uid"] for e in srv.events("review")]
        assert sorted(logged) == sorted(b["request"]["uid"] for b in bodies)


def test_review_lines_are_whole_when_threads_and_workers_write_at_once(
        server: Server) -> None:
    from concurrent.futures import ThreadPoolExecutor

    bodies = [review(deployment(GUARANTEED)) for _ in range(120)]
    sessions = [server.session() for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: server.post(bodies[i], sessions[i % 8]), range(len(bodies))))
    uids = {b["request"]["uid"] for b in bodies}
    assert wait_for(lambda: all(uid in server.log() for uid in uids))
    lines = [ln for ln in server.log().splitlines() if any(uid in ln for uid in uids)]
    assert len(lines) == len(uids)  # one line each, none torn or glued to another
    assert {json.loads(ln)["uid"] for ln in lines} == uids


def test_one_json_log_line_per_review(server: Server) -> None:
    body = review(pod(), namespace="team")
    server.post(body)
    assert wait_for(lambda: body["request"]["uid"] in server.log())
    lines = [ln for ln in server.log().splitlines() if body["request"]["uid"] in ln]
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["event"] == "review" and entry["kind"] == "Pod"
    assert (entry["namespace"], entry["name"], entry["operation"]) == ("team", "p", "CREATE")
    assert entry["decision"] == "denied" and entry["allowed"] is False
    assert entry["rules"] == ["OOM101", "OOM102", "OOM110"] and entry["latencyMs"] > 0


# -- CPU affinity -----------------------------------------------------------------------------


def _two_cpus() -> set[int]:
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        pytest.skip("needs two CPUs")
    return set(allowed[:2])


def test_workers_get_a_cpu_each_when_they_are_as_many_as_the_cpus(tmp_path: Path) -> None:
    cpus = _two_cpus()
    with running_server(tmp_path, None, workers=2, cpus=cpus) as srv:
        pinned = {pid: cpus_of(pid) for pid in srv.worker_pids()}
        assert sorted(len(c) for c in pinned.values()) == [1, 1]
        assert set().union(*pinned.values()) == cpus  # one worker on each
        assert cpus_of(srv.process.pid) == cpus  # the master keeps both for new workers
        assert {e["cpu"] for e in srv.events("worker-ready")} == cpus
        # a worker that dies is replaced on the CPU it leaves free
        gone = next(iter(pinned))
        os.kill(gone, signal.SIGKILL)
        assert wait_for(lambda: len(srv.worker_pids()) == 2 and gone not in srv.worker_pids(),
                        seconds=30)
        now = {pid: cpus_of(pid) for pid in srv.worker_pids()}
        assert set().union(*now.values()) == cpus and sorted(map(len, now.values())) == [1, 1]
        assert answer(srv, review(pod(GUARANTEED)))["allowed"]


@pytest.mark.parametrize("workers, args", [(1, ()), (2, ("--cpu-affinity", "off"))],
                         ids=["fewer-workers-than-cpus", "off"])
def test_workers_are_left_to_the_kernel(tmp_path: Path, workers: int,
                                        args: tuple[str, ...]) -> None:
    cpus = _two_cpus()
    with running_server(tmp_path, None, workers=workers, cpus=cpus, extra_args=args) as srv:
        assert all(cpus_of(pid) == cpus for pid in srv.worker_pids())
        assert {e["cpu"] for e in srv.events("worker-ready")} == {None}


# -- live changes -----------------------------------------------------------------------------


def test_policy_reload_via_configmap_symlink_swap(tmp_path: Path) -> None:
    with running_server(tmp_path, "rules:\n  OOM104: {max-ratio: 2.0}\n") as srv:
        def ratio_review() -> dict[str, Any]:
            return review(deployment(RATIO_WARNING))

        assert "warnings" in answer(srv, ratio_review())
        configmap_volume(srv.policy_dir, "rules:\n  OOM104: {max-ratio: 8.0}\n", 2)
        # both workers have the new policy within the 10 s the issue allows
        assert wait_for(lambda: srv.log().count('"policy-reloaded"') >= 2, seconds=10)
        for _ in range(4):
            assert "warnings" not in answer(srv, ratio_review())
        # an invalid policy keeps the old one serving, and is logged and counted
        configmap_volume(srv.policy_dir, "rules:\n  OOM104: {max-ratio: lots}\n", 3)
        assert wait_for(lambda: srv.log().count("policy-reload-failed") >= 2)
        assert "OOM104" in srv.log().split("policy-reload-failed", 1)[1].splitlines()[0]
        for _ in range(4):
            assert "warnings" not in answer(srv, ratio_review())
        assert metric(srv, "oomguard_policy_reloads_total", result="error") == 2
        assert metric(srv, "oomguard_policy_reloads_total", result="ok") == 2
        # a worker started while the file is invalid serves the start-up policy
        victim = srv.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        assert wait_for(lambda: len(srv.worker_pids()) == 2 and victim not in srv.worker_pids())
        assert wait_for(lambda: "the policy read at start-up" in srv.log())
        for _ in range(6):
            answer(srv, ratio_review())
        assert srv.process.poll() is None
        assert "Worker failed to boot" not in srv.log()
        assert srv.get("/readyz").ok


def test_certificate_rotation_keeps_in_flight_requests(tmp_path: Path) -> None:
    with running_server(tmp_path, None, workers=1) as srv:
        first = served_serial(srv.port, srv.ca_file)
        kept = srv.session()
        assert answer(srv, review(pod(GUARANTEED)), kept)["allowed"]  # a kept-alive connection
        # a request in flight: headers and half of the body sent before the rotation
        conn, rest = _half_sent_review(srv)

        write_cert(srv.ca, srv.cert_file, srv.key_file)
        assert wait_for(lambda: served_serial(srv.port, srv.ca_file) != first)

        conn.send(rest)
        reply = conn.getresponse()
        assert reply.status == 200 and json.loads(reply.read())["response"]["allowed"] is False
        conn.close()
        assert answer(srv, review(pod(GUARANTEED)), kept)["allowed"]  # old connection served
        assert answer(srv, review(pod()))["allowed"] is False  # new connections too
        assert wait_for(lambda: "certificate-reloaded" in srv.log())


def test_a_half_written_certificate_pair_is_not_loaded(tmp_path: Path) -> None:
    with running_server(tmp_path, None, workers=1) as srv:
        first = served_serial(srv.port, srv.ca_file)
        other = srv.ca.issue_cert("127.0.0.1")
        other.cert_chain_pems[0].write_to_path(str(srv.cert_file))  # key not yet replaced
        time.sleep(1.5)
        assert served_serial(srv.port, srv.ca_file) == first
        other.private_key_pem.write_to_path(str(srv.key_file))
        assert wait_for(lambda: served_serial(srv.port, srv.ca_file) != first)


# -- cluster awareness in the real server ------------------------------------------------------


def test_limit_ranges_and_nodes_from_the_api(tmp_path: Path) -> None:
    fake = FakeAPI()
    fake.lists["limitranges"] = [("10", [limit_range("mem", "team", "512Mi", "10")])]
    fake.lists["nodes"] = [("20", [node("n1", "16Gi", "14Gi", "20")])]
    with serving(fake) as api:
        env = {"KUBECONFIG": str(api.kubeconfig(tmp_path / "kubeconfig"))}
        (tmp_path / "srv").mkdir()
        with running_server(tmp_path / "srv", None, env=env, workers=1) as srv:
            assert wait_for(lambda: srv.get("/readyz").json()["cluster"] == "synced")
            # the LimitRange gives the template's container a limit: no OOM101
            resp = answer(srv, review(deployment(None), namespace="team"))
            assert "OOM101" not in json.dumps(resp)
            assert "OOM101" in answer(srv, review(deployment(None)))["status"]["message"]
            # the largest node allocatable decides OOM108
            big = {"requests": {"memory": "15Gi"}, "limits": {"memory": "15Gi"}}
            assert "OOM108" in answer(srv, review(pod(big)))["status"]["message"]
            fits = {"requests": {"memory": "13Gi"}, "limits": {"memory": "13Gi"}}
            assert answer(srv, review(pod(fits)))["allowed"] is True
            assert "no-api-access" not in srv.log()


# -- in-process: the internal-error path -------------------------------------------------------


def test_internal_error_is_not_the_outage() -> None:
    from oomguard.policies.config import build_policy
    from oomguard.policies.engine import Engine
    from oomguard.webhook.app import create_app
    from oomguard.webhook.cluster import ClusterView
    from oomguard.webhook.runtime import Runtime

    class Broken(Engine):
        def evaluate_object(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

    for setting, allowed in (("allow", True), ("deny", False)):
        policy = build_policy({"webhook": {"on-internal-error": setting}})
        runtime = Runtime(Broken(policy), ClusterView(policy), None, None)
        client = create_app(runtime).test_client()
        reply = client.post("/validate", json=review(pod()))
        assert reply.status_code == 200
        resp = reply.get_json()["response"]
        assert resp["allowed"] is allowed
        if allowed:
            assert resp["warnings"][0].startswith("oomguard internal error (RuntimeError)")
        else:
            assert resp["status"]["code"] == 500



# -- start-up errors ---------------------------------------------------------------------------


def test_start_up_errors_exit_2_with_a_message(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from oomguard.webhook.server import main
    from tests.webhook_support import make_ca

    _, _, cert, key = make_ca(tmp_path)
    bad_policy = tmp_path / "policy.yaml"
    bad_policy.write_text("rules:\n  OOM104: {max-ratio: lots}\n")
    assert main(["--cert-file", str(cert), "--key-file", str(key), "--policy",
                 str(bad_policy)]) == 2
    assert "OOM104" in capsys.readouterr().err
    assert main(["--cert-file", str(tmp_path / "missing.crt"), "--key-file", str(key)]) == 2
    assert "cannot load the TLS certificate/key" in capsys.readouterr().err
    assert main(["--cert-file", str(key), "--key-file", str(cert)]) == 2  # swapped
    for bad in (["--workers", "0"], ["--port", "70000"], ["--log-level", "loud"],
                ["--header-timeout", "0"], ["--body-timeout", "nan"],
                ["--max-connections", "0"], ["--max-pending-mib", "-1"]):
        with pytest.raises(SystemExit) as info:
            main(["--cert-file", str(cert), "--key-file", str(key), *bad])
        assert info.value.code == 2
