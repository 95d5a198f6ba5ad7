"""Hostile values in a review, over real TLS to the real server (gunicorn, 2 workers): a
quantity with a huge exponent is judged like any other (not admitted through
``on-internal-error``), a review that would take long is answered at the judge timeout by a
thread that then stops working, and a normal review is answered right after each."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.webhook_support import Server, container, pod, review, start_server

JUDGE_TIMEOUT = 0.5  # --judge-timeout: the flag wins over the policy's 2 s


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # on-internal-error allow (the default): an object that reached it would be admitted
    yield from start_server(tmp_path_factory.mktemp("webhook-values"),
                            "webhook: {on-internal-error: allow}\n",
                            extra_args=["--judge-timeout", str(JUDGE_TIMEOUT)])


def answered(server: Server, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
    start = time.monotonic()
    reply = server.post(body)
    elapsed = time.monotonic() - start
    assert reply.status_code == 200, reply.text
    return reply.json()["response"], elapsed


def assert_normal_review_right_after(server: Server) -> None:
    answer, elapsed = answered(server, review(pod()))
    assert answer["allowed"] is False and "OOM101" in answer["status"]["message"]
    assert elapsed < 1.0


def no_internal_errors(server: Server) -> None:
    assert server.events("internal-error") == []


def huge(limits: dict[str, str] | None = None, size_limit: str | None = None) -> dict[str, Any]:
    obj = pod({"limits": limits} if limits else None)
    if size_limit is not None:
        obj["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {"sizeLimit": size_limit}}]
    return obj


@pytest.mark.parametrize("obj,rule", [
    # the reproduction: a disk quantity in a pod without limits
    (huge(size_limit="1e1000000"), "OOM101"),
    (huge({"memory": "1Gi", "ephemeral-storage": "1e1000000", "hugepages-2Mi": "5e999999"}),
     None),
    (huge({"memory": "5e999999"}), None),  # was: a worker busy for 90 s
    (huge({"memory": "1e2147483648"}), "OOM106"),  # int32(2^31) is -2^31: 1n, below a byte
])
def test_huge_exponents_are_judged_not_admitted_unjudged(server: Server, obj: dict[str, Any],
                                                         rule: str | None) -> None:
    answer, elapsed = answered(server, review(obj))
    assert elapsed < 1.0
    assert "oomguard internal error" not in str(answer.get("warnings"))
    if rule is None:
        assert answer["allowed"] is True
    else:
        assert answer["allowed"] is False and rule in answer["status"]["message"]
    no_internal_errors(server)
    assert_normal_review_right_after(server)


def test_negative_quantity_is_denied_with_the_reason(server: Server) -> None:
    answer, _ = answered(server, review(huge({"memory": "-1Gi"})))
    assert answer["allowed"] is False and answer["status"]["code"] == 403
    assert "spec.containers[0].resources.limits.memory: '-1Gi' must be greater than or " \
           "equal to 0 (the API server rejects a negative quantity)" in \
           answer["status"]["message"]
    assert_normal_review_right_after(server)


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / 100


def test_a_long_review_is_answered_at_the_judge_timeout_and_stops(server: Server) -> None:
    many = [container({"limits": {"memory": "1Gi"}}, name=f"c{i}", command=["java", "-Xmx2g"])
            for i in range(30_000)]  # 30,000 containers: ~4 MiB, seconds of rules
    obj = pod(containers=many)
    answer, elapsed = answered(server, review(obj))
    assert answer["allowed"] is False and answer["status"]["code"] == 500
    assert answer["status"]["message"] == (
        f"oomguard could not judge Pod default/p within {JUDGE_TIMEOUT:g}s "
        "(webhook.judge-timeout); denied (webhook.on-timeout: deny)")
    assert elapsed < JUDGE_TIMEOUT + 3.0  # reading and parsing 4 MiB are outside the budget
    [event] = server.events("judge-timeout")
    assert event["kind"] == "Pod" and event["seconds"] == JUDGE_TIMEOUT
    no_internal_errors(server)
    # the judging thread stopped: the workers are idle right after the answer
    pids = server.worker_pids()
    before = cpu_seconds(pids)
    time.sleep(1.0)
    assert cpu_seconds(pids) - before < 0.3
    assert_normal_review_right_after(server)
    # the same object on an UPDATE (judged twice with the ratchet) is no longer either
    update = review(obj, operation="UPDATE", old=copy.deepcopy(obj))
    answer, _ = answered(server, update)
    assert answer["status"]["code"] == 500
    assert_normal_review_right_after(server)
