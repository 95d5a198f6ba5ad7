"""Edge cases of OOM113-OOM131: oom_score_adj, tmpfs volumes, runtime heaps."""

from __future__ import annotations

import pytest

from tests.helpers import codes, lint_text, paths

C0 = "spec.containers[0]"


def pod(body: str) -> str:
    indented = "\n".join("  " + line for line in body.strip("\n").splitlines())
    return f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n{indented}\n"


def test_oom113_anywhere_in_the_pod_spec() -> None:
    text = pod("""
securityContext: {oomScoreAdj: -999}
initContainers:
- {name: i, securityContext: {oomScoreAdj: 5}, resources: {limits: {memory: 1Gi}}}
containers:
- {name: a, resources: {limits: {memory: 1Gi}}}
""")
    assert paths(lint_text(text)[0], "OOM113") == {
        "spec.securityContext.oomScoreAdj", "spec.initContainers[0].securityContext.oomScoreAdj"}


@pytest.mark.parametrize("command,fires", [
    ('["sh", "-c", "echo -1000 > /proc/self/oom_score_adj; exec app"]', True),
    ('["sh", "-c", "echo 15 >> /proc/1/oom_adj"]', True),
    ('["sh", "-c", "echo -500 | tee /proc/$$/oom_score_adj"]', True),
    ('["sh", "-c", "cat /proc/self/oom_score_adj"]', False),
    ('["app", "--oom-score=5"]', False),
])
def test_oom114_writes_not_reads(command: str, fires: bool) -> None:
    text = pod(f"containers:\n- {{name: a, command: {command}, resources: {{limits: {{memory: 1Gi}}}}}}")
    assert ("OOM114" in codes(lint_text(text)[0])) is fires


def test_oom114_hooks_and_probes_and_ephemeral_ignored() -> None:
    text = pod("""
containers:
- name: a
  resources: {limits: {memory: 1Gi}}
  lifecycle:
    postStart:
      exec: {command: ["sh", "-c", "echo -1000 > /proc/1/oom_score_adj"]}
  livenessProbe:
    exec: {command: ["sh", "-c", "echo 0 > /proc/self/oom_score_adj"]}
ephemeralContainers:
- {name: dbg, command: ["sh", "-c", "echo -1000 > /proc/1/oom_score_adj"]}
""")
    assert paths(lint_text(text)[0], "OOM114") == {
        f"{C0}.lifecycle.postStart.exec.command[2]", f"{C0}.livenessProbe.exec.command[2]"}


def test_oom115_needs_node_memory_for_burstable_and_is_opt_in() -> None:
    text = pod("containers:\n- {name: a, resources: {requests: {memory: 64Mi}, limits: {memory: 1Gi}}}")
    assert "OOM115" not in codes(lint_text(text)[0])
    on = {"rules": {"OOM115": {"enabled": True}}}
    assert "OOM115" not in codes(lint_text(text, on)[0])  # Burstable, node size unknown
    sized = {**on, "node": {"memory": "64Gi"}}
    assert paths(lint_text(text, sized)[0], "OOM115") == {f"{C0}.resources"}
    besteffort = pod("containers:\n- {name: a}")
    assert "OOM115" in codes(lint_text(besteffort, on)[0])


def test_oom120_and_121_tmpfs() -> None:
    text = pod("""
containers:
- {name: a, volumeMounts: [{name: m, mountPath: /m}, {name: big, mountPath: /b}], resources: {limits: {memory: 256Mi}}}
- {name: b, volumeMounts: [{name: big, mountPath: /b}], resources: {limits: {memory: 256Mi}}}
volumes:
- {name: m, emptyDir: {medium: Memory}}
- {name: disk, emptyDir: {}}
- {name: big, emptyDir: {medium: Memory, sizeLimit: 600Mi}}
""")
    findings, _ = lint_text(text)
    assert paths(findings, "OOM120") == {"spec.volumes[0].emptyDir"}
    assert paths(findings, "OOM121") == {"spec.volumes[2].emptyDir.sizeLimit"}


@pytest.mark.parametrize("env,command,limit,expected", [
    ('[{name: JAVA_TOOL_OPTIONS, value: "-Xmx1g"}]', "[]", "1Gi", {"OOM130"}),
    ('[{name: JAVA_OPTS, value: "-Xmx900m"}]', "[]", "1Gi", {"OOM131"}),
    ('[{name: JAVA_OPTS, value: "-Xmx512m"}]', "[]", "1Gi", set()),
    # _JAVA_OPTIONS overrides the command line: the last setting wins
    ('[{name: _JAVA_OPTIONS, value: "-Xmx512m"}]', '["java", "-Xmx4g", "-jar", "a.jar"]', "1Gi", set()),
    ('[]', '["java", "-XX:MaxHeapSize=2147483648", "-jar", "a.jar"]', "2Gi", {"OOM130"}),
    ('[{name: NODE_OPTIONS, value: "--max-old-space-size=1024"}]', "[]", "1Gi", {"OOM130"}),
    ('[]', '["node", "--max-old-space-size=900", "server.js"]', "1Gi", {"OOM131"}),
    ('[{name: GOMEMLIMIT, value: "2GiB"}]', "[]", "2Gi", {"OOM130"}),
    ('[{name: GOMEMLIMIT, value: "off"}]', "[]", "2Gi", set()),
    ('[{name: JAVA_TOOL_OPTIONS, valueFrom: {configMapKeyRef: {name: c, key: k}}}]', "[]", "1Gi", set()),
    ('[{name: JAVA_TOOL_OPTIONS, value: "$(HEAP)"}]', "[]", "1Gi", set()),
    ('[]', '["sh", "-c", "exec java -XX:MaxRAMPercentage=90.0 -jar a.jar"]', "1Gi", {"OOM131"}),
])
def test_runtime_heaps(env: str, command: str, limit: str, expected: set[str]) -> None:
    text = pod(f"containers:\n- {{name: a, env: {env}, command: {command}, "
               f"resources: {{limits: {{memory: {limit}}}}}}}")
    assert codes(lint_text(text)[0]) & {"OOM130", "OOM131"} == expected


def test_heap_finding_points_at_the_env_var_of_an_init_container() -> None:
    text = pod("""
initContainers:
- {name: i, env: [{name: x, value: y}, {name: JAVA_TOOL_OPTIONS, value: "-Xmx2g"}], resources: {limits: {memory: 1Gi}}}
containers:
- {name: a, resources: {limits: {memory: 1Gi}}}
""")
    assert paths(lint_text(text)[0], "OOM130") == {"spec.initContainers[0].env[1]"}
