"""Edge cases of OOM001, OOM101-OOM112 and OOM140: asserts codes and paths, not counts."""

from __future__ import annotations

from tests.helpers import codes, hits, lint_text, paths

C0 = "spec.containers[0]"
T0 = "spec.template.spec.containers[0]"


def pod(body: str, meta: str = "{name: p}") -> str:
    indented = "\n".join("  " + line for line in body.strip("\n").splitlines())
    return f"apiVersion: v1\nkind: Pod\nmetadata: {meta}\nspec:\n{indented}\n"


def deploy(body: str, meta: str = "{name: d}", template_meta: str = "") -> str:
    indented = "\n".join("      " + line for line in body.strip("\n").splitlines())
    tmeta = f"    metadata: {template_meta}\n" if template_meta else ""
    return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {meta}\nspec:\n  template:\n"
            f"{tmeta}    spec:\n{indented}\n")


# -- OOM101 -----------------------------------------------------------------------------
def test_oom101_init_and_sidecar_and_pod_level() -> None:
    text = pod("""
initContainers:
- {name: init, image: x, resources: {limits: {memory: 64Mi}}}
- {name: side, image: x, restartPolicy: Always}
containers:
- {name: app, image: x}
ephemeralContainers:
- {name: debug, image: x}
""")
    findings, _ = lint_text(text)
    assert paths(findings, "OOM101") == {"spec.initContainers[1].resources",
                                         "spec.containers[0].resources"}
    covered = pod("resources: {limits: {memory: 1Gi}}\ncontainers:\n- {name: app, image: x}")
    assert "OOM101" not in codes(lint_text(covered)[0])


def test_oom101_line_points_at_the_container() -> None:
    findings, _ = lint_text(pod("containers:\n- name: app\n  image: x\n"))
    assert hits(findings, "OOM101") == {(f"{C0}.resources", 6)}


# -- OOM102 -----------------------------------------------------------------------------
def test_oom102_limit_only_template_is_defaulted() -> None:
    limit_only = deploy("containers:\n- {name: a, resources: {limits: {memory: 1Gi}}}")
    assert "OOM102" not in codes(lint_text(limit_only)[0])
    nothing = deploy("containers:\n- {name: a}")
    assert paths(lint_text(nothing)[0], "OOM102") == {f"{T0}.resources"}


def test_oom102_pod_level_request_covers() -> None:
    text = pod("resources: {requests: {memory: 1Gi}}\ncontainers:\n- {name: a}")
    assert "OOM102" not in codes(lint_text(text)[0])


# -- OOM103/104 -------------------------------------------------------------------------
def test_oom103_and_pod_level() -> None:
    text = pod("""
resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}
containers:
- {name: a, resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}}
""")
    assert paths(lint_text(text)[0], "OOM103") == {
        f"{C0}.resources.requests.memory", "spec.resources.requests.memory"}


def test_oom104_ratio_boundary_and_param() -> None:
    exact = pod("containers:\n- {name: a, resources: {requests: {memory: 1Gi}, limits: {memory: 2Gi}}}")
    assert "OOM104" not in codes(lint_text(exact)[0])
    over = pod("containers:\n- {name: a, resources: {requests: {memory: 1Gi}, limits: {memory: 3Gi}}}")
    assert paths(lint_text(over)[0], "OOM104") == {f"{C0}.resources.limits.memory"}
    assert "OOM104" not in codes(lint_text(over, {"rules": {"OOM104": {"max-ratio": 3}}})[0])
    assert "OOM104" in codes(lint_text(exact, {"extends": "strict"})[0])


# -- OOM105/106 -------------------------------------------------------------------------
def test_oom105_invalid_quantities_everywhere() -> None:
    text = pod("""
resources: {limits: {memory: 1 Gi}}
overhead: {memory: 1K}
volumes:
- {name: v, emptyDir: {medium: Memory, sizeLimit: 1e3Mi}}
containers:
- {name: a, resources: {requests: {memory: 1GB}, limits: {memory: 2Gi}}}
""")
    assert paths(lint_text(text)[0], "OOM105") == {
        "spec.resources.limits.memory", "spec.overhead.memory",
        "spec.volumes[0].emptyDir.sizeLimit", f"{C0}.resources.requests.memory"}


def test_oom106_milli_and_bare_numbers() -> None:
    text = pod("""
containers:
- {name: a, resources: {requests: {memory: 512m}, limits: {memory: 512}}}
- {name: b, resources: {requests: {memory: 1073741824}, limits: {memory: "2e9"}}}
- {name: c, resources: {requests: {memory: "5e2"}, limits: {memory: 0}}}
""")
    assert paths(lint_text(text)[0], "OOM106") == {
        f"{C0}.resources.requests.memory", f"{C0}.resources.limits.memory",
        "spec.containers[2].resources.requests.memory"}


# -- OOM107/108/109 ---------------------------------------------------------------------
def test_oom107_min_param() -> None:
    text = pod("containers:\n- {name: a, resources: {limits: {memory: 32Mi}}}")
    assert "OOM107" not in codes(lint_text(text)[0])
    assert paths(lint_text(text, {"rules": {"memory-limit-too-low": {"min": "64Mi"}}})[0],
                 "OOM107") == {f"{C0}.resources.limits.memory"}


def test_oom108_effective_request_with_init_and_overhead() -> None:
    text = pod("""
overhead: {memory: 1Gi}
initContainers:
- {name: init, resources: {requests: {memory: 14Gi}, limits: {memory: 14Gi}}}
containers:
- {name: a, resources: {requests: {memory: 1Gi}, limits: {memory: 1Gi}}}
""")
    policy = {"node": {"allocatable": "14Gi"}}
    assert paths(lint_text(text, policy)[0], "OOM108") == {"spec"}
    assert "OOM108" not in codes(lint_text(text)[0])  # no node size known


def test_oom109_off_by_default() -> None:
    text = pod("containers:\n- {name: a, resources: {limits: {memory: 64Gi}}}")
    assert "OOM109" not in codes(lint_text(text)[0])
    on = {"rules": {"OOM109": {"enabled": True, "max": "32Gi"}}}
    assert paths(lint_text(text, on)[0], "OOM109") == {f"{C0}.resources.limits.memory"}


# -- OOM110/111/112 ---------------------------------------------------------------------
def test_oom110_cronjob_template() -> None:
    text = """apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: a, image: x}]
"""
    assert paths(lint_text(text)[0], "OOM110") == {
        "spec.jobTemplate.spec.template.spec.containers"}


def test_oom111_selectors() -> None:
    burstable = "containers:\n- {name: a, resources: {requests: {memory: 1Gi}, limits: {memory: 1Gi}}}"
    assert "OOM111" not in codes(lint_text(deploy(burstable))[0])
    critical = deploy("priorityClassName: system-node-critical\n" + burstable)
    assert "OOM111" in codes(lint_text(critical)[0])
    labelled = deploy(burstable, template_meta="{labels: {tier: db}}")
    policy = {"rules": {"OOM111": {"selector": {"tier": "db"}}}}
    assert "OOM111" in codes(lint_text(labelled, policy)[0])
    assert "OOM111" in codes(lint_text(deploy(burstable), {"extends": "strict"})[0])


def test_oom112_sidecar_downgrades() -> None:
    text = pod("""
initContainers:
- {name: side, restartPolicy: Always, resources: {limits: {memory: 64Mi}}}
containers:
- {name: a, resources: {limits: {cpu: 1, memory: 1Gi}}}
""")
    assert paths(lint_text(text)[0], "OOM112") == {"spec.initContainers[0].resources"}


# -- LimitRange defaults ----------------------------------------------------------------
LIMIT_RANGE = """apiVersion: v1
kind: LimitRange
metadata: {name: mem, namespace: team}
spec:
  limits:
  - type: Container
    default: {memory: 512Mi, cpu: 500m}
    defaultRequest: {memory: 256Mi, cpu: 100m}
---
"""


def test_limitrange_defaults_avoid_findings_in_its_namespace_only() -> None:
    in_ns = deploy("containers:\n- {name: a}", meta="{name: d, namespace: team}")
    findings, results = lint_text(LIMIT_RANGE + in_ns)
    assert not {"OOM101", "OOM102", "OOM110"} & codes(findings)
    container = results[0]["facts"]["containers"][0]
    assert container["memoryLimit"] == 512 << 20
    assert container["defaultedFrom"]["memoryLimit"] == "LimitRange team/mem"
    other = deploy("containers:\n- {name: a}", meta="{name: d, namespace: other}")
    assert "OOM101" in codes(lint_text(LIMIT_RANGE + other)[0])


def test_limitrange_limit_only_container_gets_request_equal_to_limit_first() -> None:
    text = LIMIT_RANGE + deploy(
        "containers:\n- {name: a, resources: {limits: {memory: 1Gi, cpu: 1}}}",
        meta="{name: d, namespace: team}")
    _, results = lint_text(text)
    assert results[0]["facts"]["containers"][0]["memoryRequest"] == 1 << 30
    assert results[0]["facts"]["qos"] == "Guaranteed"


def test_limitrange_default_request_from_default_and_max() -> None:
    text = """apiVersion: v1
kind: LimitRange
metadata: {name: lr, namespace: t}
spec:
  limits:
  - {type: Container, max: {memory: 1Gi}}
---
""" + pod("containers:\n- {name: a}", meta="{name: p, namespace: t}")
    _, results = lint_text(text)
    c = results[0]["facts"]["containers"][0]
    assert c["memoryLimit"] == c["memoryRequest"] == 1 << 30


# -- suppressions and OOM001 ------------------------------------------------------------
def test_annotation_suppresses_by_code_or_name_on_object_or_template() -> None:
    body = "containers:\n- {name: a}"
    on_object = deploy(body, meta='{name: d, annotations: {oomguard.io/ignore: "OOM101, qos-besteffort"}}')
    findings, _ = lint_text(on_object)
    assert not {"OOM101", "OOM110", "OOM001"} & codes(findings)
    on_template = deploy(body, template_meta='{annotations: {oomguard.io/ignore: "OOM102"}}')
    assert "OOM102" not in codes(lint_text(on_template)[0])


def test_oom001_unknown_and_unused_ignores() -> None:
    good = "containers:\n- {name: a, resources: {limits: {cpu: 1, memory: 1Gi}}}"
    text = pod(good, meta='{name: p, annotations: {oomguard.io/ignore: "OOM999,OOM110"}}')
    findings = lint_text(text)[0]
    oom001 = [f for f in findings if f.rule == "OOM001"]
    assert {f.path for f in oom001} == {"metadata.annotations.oomguard.io/ignore"}
    messages = " ".join(f.message for f in oom001)
    assert "OOM999" in messages and "suppressed nothing" in messages
    assert all(f.line == 3 for f in oom001) or all(f.line for f in oom001)


# -- OOM140 -----------------------------------------------------------------------------
HPA = """---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: h}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: d}
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
  - type: ContainerResource
    containerResource: {name: memory, container: side, target: {type: Utilization, averageUtilization: 80}}
  - type: Resource
    resource: {name: memory, target: {type: Utilization, averageUtilization: 80}}
"""


def test_oom140_resource_and_container_resource() -> None:
    text = deploy("containers:\n- {name: app, resources: {requests: {memory: 1Gi}}}\n- {name: side}") + HPA
    assert paths(lint_text(text)[0], "OOM140") == {"spec.metrics[1]", "spec.metrics[2]"}
    covered = deploy("containers:\n- {name: app, resources: {limits: {memory: 1Gi}}}") + HPA
    assert "OOM140" not in codes(lint_text(covered)[0])
    assert "OOM140" not in codes(lint_text(HPA)[0])  # target not in the input


def test_oom140_ignore_on_hpa() -> None:
    text = deploy("containers:\n- {name: app}") + HPA.replace(
        "metadata: {name: h}", 'metadata: {name: h, annotations: {oomguard.io/ignore: "OOM140"}}')
    assert not {"OOM140", "OOM001"} & codes(lint_text(text)[0])


# -- kinds: List, mapped kinds ----------------------------------------------------------
def test_v1_list_items_and_mapped_kind() -> None:
    text = """apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
  spec:
    containers: [{name: a}]
"""
    findings, _ = lint_text(text)
    assert hits(findings, "OOM101") == {(f"{C0}.resources", 8)}
    rollout = """apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  template:
    spec:
      containers: [{name: a}]
"""
    assert "OOM101" not in codes(lint_text(rollout)[0])
    policy = {"kinds": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                         "podTemplate": "spec.template"}]}
    assert paths(lint_text(rollout, policy)[0], "OOM101") == {f"{T0}.resources"}
