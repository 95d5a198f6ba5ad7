"""Prometheus metrics that add up across gunicorn workers.

prometheus_client's multiprocess mode (a well-kept library rather than our own shared
files): every worker writes its samples to memory-mapped files in PROMETHEUS_MULTIPROC_DIR,
which ``oomguard webhook`` creates before the workers start; ``/metrics`` in any worker
merges all of them.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE  # noqa: N811
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

REVIEWS = Counter("oomguard_admission_reviews_total", "Admission reviews answered",
                  ["kind", "operation", "decision"])
FINDINGS = Counter("oomguard_findings_total", "Findings in admission reviews",
                   ["rule", "severity"])
LATENCY = Histogram("oomguard_review_duration_seconds", "Time to judge one review",
                    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))
BAD_REQUESTS = Counter("oomguard_bad_requests_total", "Requests that were no valid review",
                       ["status"])
INTERNAL_ERRORS = Counter("oomguard_internal_errors_total", "Errors while judging a review")
POLICY_RELOADS = Counter("oomguard_policy_reloads_total", "Policy file reloads", ["result"])

__all__ = ["REVIEWS", "FINDINGS", "LATENCY", "BAD_REQUESTS", "INTERNAL_ERRORS",
           "POLICY_RELOADS", "CONTENT_TYPE", "child", "render"]

_children: dict[tuple[Any, ...], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, remembered: labels() validates and locks on every call,
    and the label sets here are few (kinds x operations x decisions, rules x severities)."""
    key = (id(metric), *labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


def render() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
