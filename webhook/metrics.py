"""Prometheus metrics that add up across gunicorn workers.

prometheus_client's multiprocess mode (a well-kept library rather than our own shared
files): every worker writes its samples to memory-mapped files in PROMETHEUS_MULTIPROC_DIR,
which ``oomguard webhook`` creates before the workers start; ``/metrics`` in any worker
merges all of them.

Each write to those files costs a few microseconds (a lock, a pid check, a struct packed
into the map), and a review makes about five: reviews, latency sum and bucket, findings.
So a review's counts are tallied in the worker's memory (:func:`record_review`) and added
to the files in one batch per label set: by a flusher thread at most :data:`FLUSH_EVERY`
(0.1 s) after the first review of a batch, before this worker answers ``/metrics``, and when
the worker exits (gunicorn's ``worker_exit``). The files are shared mappings, so what was
added survives the worker: a ``kill -9`` (or the OOM killer) loses at most the last 0.1 s
of that worker's counts, and a scrape may miss another worker's last 0.1 s, which the next
scrape has. Nothing is counted twice. The flusher sleeps while no review comes (an idle
worker does not wake up), and a flush costs a few locked writes per label set whatever the
number of reviews in it, so flushing ten times a second costs no throughput.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE  # noqa: N811
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

from oomguard.policies.rule import Finding, Severity
from oomguard.webhook import compat_prometheus

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
CONNECTIONS_CLOSED = Counter("oomguard_connections_closed_total",
                             "Connections the server closed at a client limit", ["reason"])

__all__ = ["REVIEWS", "FINDINGS", "LATENCY", "BAD_REQUESTS", "INTERNAL_ERRORS",
           "POLICY_RELOADS", "CONNECTIONS_CLOSED", "CONTENT_TYPE", "child", "flush",
           "record_review", "render"]
FLUSH_EVERY = float(os.environ.get("OOMGUARD_METRICS_FLUSH", "0.1"))

_children: dict[tuple[Any, ...], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, remembered: labels() validates and locks on every call,
    and the label sets here are few (kinds x operations x decisions, rules x severities)."""
    key = (id(metric), *labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


class _Tally:
    """This worker's review counts not yet in the shared files."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # plain label tuples, turned into metric children only at a flush: a review then
        # costs a few dict updates
        self.reviews: dict[tuple[str, str, str], int] = {}
        self.findings: dict[tuple[str, Severity], int] = {}
        # no public call adds n observations at once (webhook/compat_prometheus.py)
        self.batched_latency = compat_prometheus.batching(LATENCY)
        self.bounds = compat_prometheus.bounds(LATENCY) if self.batched_latency else []
        self.buckets = [0] * len(self.bounds)
        self.latency_sum = 0.0
        self.flushing = False  # whether this process has its flusher thread
        self.pending = threading.Event()  # set while tallies wait for the flusher
        self.empty = True

    def start(self) -> None:
        """Start this process's flusher (threads do not survive gunicorn's fork)."""
        self.flushing = True
        threading.Thread(target=self._flush_forever, name="metrics-flush", daemon=True).start()

    def _flush_forever(self) -> None:
        while True:
            self.pending.wait()
            time.sleep(FLUSH_EVERY)
            # before flushing: a review from now on is flushed now or wakes the next round
            self.pending.clear()
            flush()


_tally = _Tally()


def _forked() -> None:  # a new worker: nothing tallied yet, and no flusher thread
    global _tally
    _tally = _Tally()


os.register_at_fork(after_in_child=_forked)


def record_review(kind: str, operation: str, decision: str, seconds: float,
                  findings: Iterable[Finding]) -> None:
    """Count one answered review: its decision, its latency, its findings by rule and
    severity."""
    tally = _tally
    with tally.lock:
        if not tally.flushing:
            tally.start()
        if tally.empty:  # the first of a batch wakes the flusher (Event.set locks: once)
            tally.empty = False
            tally.pending.set()
        reviews = tally.reviews
        key = (kind, operation, decision)
        reviews[key] = reviews.get(key, 0) + 1
        counts = tally.findings
        for finding in findings:
            found = (finding.rule, finding.severity)
            counts[found] = counts.get(found, 0) + 1
        if tally.batched_latency:
            tally.latency_sum += seconds
            index = bisect.bisect_left(tally.bounds, seconds)
            if index < len(tally.buckets):
                tally.buckets[index] += 1
            return
    LATENCY.observe(seconds)


def flush() -> None:
    """Add this worker's tallied counts to the shared files."""
    tally = _tally
    with tally.lock:
        tally.empty = True
        reviews, tally.reviews = tally.reviews, {}
        findings, tally.findings = tally.findings, {}
        buckets, latency_sum = tally.buckets, tally.latency_sum
        tally.buckets, tally.latency_sum = [0] * len(buckets), 0.0
    for labels, n in reviews.items():
        child(REVIEWS, *labels).inc(n)
    for (rule, severity), n in findings.items():
        child(FINDINGS, rule, str(severity)).inc(n)
    if any(buckets):
        compat_prometheus.add_observations(LATENCY, latency_sum, buckets)


def render() -> bytes:
    flush()  # this worker's own counts are current in its answer
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
