"""Each private or undocumented member of a dependency the webhook relies on, named against
the installed version (webhook/compat_*.py): an upgrade that changes one fails here, with
the member's name, instead of in a running worker."""

from __future__ import annotations

import logging
import types

import pytest
from prometheus_client import CollectorRegistry, Histogram

from oomguard.webhook import compat_gunicorn, compat_logging, compat_prometheus


def test_gunicorn_has_every_member_the_worker_uses() -> None:
    assert compat_gunicorn.WORKER_ATTRIBUTES == ("sockets", "alive", "cfg", "log", "ppid")
    assert compat_gunicorn.WORKER_METHODS == ("init_process", "run", "handle_exit", "notify",
                                              "load_wsgi")
    assert compat_gunicorn.WORKER_LOADED == "wsgi"
    assert compat_gunicorn.SETTINGS == ("threads", "graceful_timeout", "workers")
    assert compat_gunicorn.ARBITER_WORKERS == "WORKERS"
    assert compat_gunicorn.problems() == []


def test_gunicorn_live_workers_reads_the_masters_table() -> None:
    arbiter = types.SimpleNamespace(WORKERS={1: "a", 2: "b"})
    assert compat_gunicorn.live_workers(arbiter) == ["a", "b"]


def test_a_gunicorn_without_a_member_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(compat_gunicorn.Worker, "notify")
    assert compat_gunicorn.problems() == [
        "gunicorn.workers.base.Worker has no method 'notify'"]


def _histogram() -> Histogram:
    return Histogram("h", "h", buckets=(0.1, 1), registry=CollectorRegistry())


def test_prometheus_histogram_has_sum_buckets_and_bounds() -> None:
    assert (compat_prometheus.UPPER_BOUNDS, compat_prometheus.BUCKETS, compat_prometheus.SUM) \
        == ("_upper_bounds", "_buckets", "_sum")
    histogram = _histogram()
    assert compat_prometheus.problems(histogram) == []
    assert compat_prometheus.bounds(histogram) == [0.1, 1.0, float("inf")]
    # a batch lands exactly as the same observations one by one do
    compat_prometheus.add_observations(histogram, 0.05 + 0.5 + 2.0, [1, 1, 1])
    single = _histogram()
    for value in (0.05, 0.5, 2.0):
        single.observe(value)
    assert [(s.name, s.labels, s.value) for m in histogram.collect() for s in m.samples
            if not s.name.endswith("_created")] == \
        [(s.name, s.labels, s.value) for m in single.collect() for s in m.samples
         if not s.name.endswith("_created")]


@pytest.mark.parametrize("missing", ["_upper_bounds", "_buckets", "_sum"])
def test_a_histogram_without_a_member_is_named_and_not_batched(missing: str) -> None:
    histogram = _histogram()
    delattr(histogram, missing)
    found = compat_prometheus.problems(histogram)
    assert len(found) == 1 and repr(missing) in found[0]
    assert not compat_prometheus.batching(histogram)


def test_logging_has_srcfile(monkeypatch: pytest.MonkeyPatch) -> None:
    assert compat_logging.SRCFILE == "_srcfile"
    assert compat_logging.problems() == []
    monkeypatch.setattr(logging, "_srcfile", logging._srcfile)  # type: ignore[attr-defined]
    compat_logging.skip_caller_lookup()
    assert logging._srcfile is None  # type: ignore[attr-defined]
    monkeypatch.delattr(logging, "_srcfile")
    assert "'_srcfile'" in compat_logging.problems()[0]
    compat_logging.skip_caller_lookup()  # without it: nothing to do, no error
