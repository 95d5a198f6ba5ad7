"""The kubelet-config ConfigMap's `data.kubelet` is YAML inside a review: a hostile one must
be answered quickly with a located problem, by a worker that stays small, over real TLS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.webhook_support import Server, kubelet_config_map, pod, review, start_server

BILLION_LAUGHS = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n" \
    'lol: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{name}: &{name} [{','.join(['*' + prev] * 9)}]\n"
        for prev, name in zip("abcdefgh", "bcdefghi", strict=True))  # 9^9 strings expanded


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(tmp_path_factory.mktemp("webhook-yaml"), None)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.parametrize("kubelet,problem", [
    # an alias *c of line 6 (`d: &d [*c,*c,*c,*c...`) tips go-yaml's count
    (BILLION_LAUGHS, "(line 6, column 17 of data.kubelet): document contains excessive aliasing"),
    ("kind: KubeletConfiguration\nx: &a [*a]\n",
     "(line 2, column 8 of data.kubelet): the value of anchor 'a' contains an alias to itself"),
    ("kind: KubeletConfiguration\nx: " + "[" * 100_000 + "]" * 100_000 + "\n",
     "(line 2, column 259 of data.kubelet): collections nest deeper than 256 levels"),
    ("kind: KubeletConfiguration\nx: \"\x1b[31m\"\n",
     "(line 2, column 5 of data.kubelet): YAML syntax error: control character U+001B"),
])
def test_hostile_kubelet_yaml_is_answered_with_a_located_problem(
        server: Server, kubelet: str, problem: str) -> None:
    session = server.session()
    start = time.monotonic()
    reply = server.post(review(kubelet_config_map(kubelet), namespace="kube-system"), session)
    elapsed = time.monotonic() - start
    assert reply.status_code == 200, reply.text
    [warning] = reply.json()["response"]["warnings"]
    assert warning.startswith("oomguard: ConfigMap kube-system/kubelet-config: the `kubelet` "
                              f"key is not YAML {problem}"), warning
    assert elapsed < 2.0  # was: a worker at 3 GiB for as long as it took
    # a normal review, on the same connection, right after
    normal = server.post(review(pod()), session)
    assert normal.status_code == 200
    assert normal.json()["response"]["allowed"] is False  # the pod has no memory limit
    assert all(peak_rss_mib(pid) < 300 for pid in server.worker_pids())
