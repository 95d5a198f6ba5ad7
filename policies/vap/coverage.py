"""Which rules the ValidatingAdmissionPolicy export covers, and why the others are left to
the webhook (``oomguard vap --explain`` and the comment block of its output)."""

from __future__ import annotations

from oomguard.policies.vap.rules import BUILDERS

# Why each rule that is not exported cannot be written exactly in the CEL of a policy.
NOT_COVERED: dict[str, str] = {
    "OOM001": "reports ignores that suppressed nothing or name unknown rules: it needs every "
              "other rule's findings of the object (the linter's job)",
    "OOM108": "needs the effective pod request (a running sum of sidecar requests over the "
              "init containers in order, plus overhead; CEL of 1.30 has no fold) and the "
              "largest node allocatable memory, which only the webhook learns from the Nodes",
    "OOM114": "matches adjacent words of command/args/hook/probe argv; CEL of 1.30 cannot "
              "pair list items by index (two-variable comprehensions arrive in 1.32), and "
              "RE2's \\s and \\b are ASCII where the rule's are Unicode",
    "OOM115": "oom_score_adj of a Burstable container depends on the memory capacity of the "
              "node the pod lands on, which admission does not know",
    "OOM121": "compares sizeLimit with the sum of the memory limits of the mounting "
              "containers; the quantity library of 1.30 cannot sum a list",
    "OOM130": "parses runtime heap flags (JVM -Xmx/-XX:MaxHeapSize, Node "
              "--max-old-space-size, GOMEMLIMIT) from command, args and env with the last "
              "setting winning; string parsing beyond CEL's regular expressions",
    "OOM131": "runtime heap parsing as OOM130, plus a fraction of the limit",
    "OOM140": "cross-checks a HorizontalPodAutoscaler against the workload it targets: a "
              "policy sees one object at a time",
}
NODE_REASON = ("judges kubelet configuration and sysctl files (and the kubelet-config "
               "ConfigMap's embedded YAML), which CEL cannot parse")
LIMIT_RANGE_NOTE = (
    "LimitRange defaulting across objects: the webhook fills a template's missing requests "
    "and limits from the namespace's LimitRange before judging; a policy cannot read other "
    "objects, so it judges templates as written (Pods arrive already filled in by the "
    "LimitRanger plugin, which runs before validating policies)")


def reason(code: str) -> str | None:
    """Why ``code`` is not exported, or None when it is."""
    if code in BUILDERS:
        return None
    if code in NOT_COVERED:
        return NOT_COVERED[code]
    if code.startswith("OOM2"):
        return NODE_REASON
    return "no CEL translation"
