"""The private members of prometheus_client's Histogram the webhook's metrics use.

prometheus_client has no public call for n observations at once, and a review's latency
is batched in the worker (``webhook/metrics.py``). So a flush adds the batch straight to
the histogram's own sum and bucket values: ``_upper_bounds`` (the bucket bounds, +Inf
last), ``_buckets`` (one value per bound, each non-cumulative, with ``inc``) and ``_sum``
(with ``inc``), as ``Histogram.observe`` itself uses them
(prometheus_client/metrics.py). Where they are not as expected, :func:`batching` says so
and each latency is observed one by one instead: slower, never wrong.
``tests/test_compat.py`` names each of them against the installed version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

UPPER_BOUNDS, BUCKETS, SUM = "_upper_bounds", "_buckets", "_sum"

__all__ = ["add_observations", "batching", "bounds", "problems"]


def problems(histogram: Any) -> list[str]:
    """What ``histogram`` (an unlabelled Histogram) lacks of the above (empty: all there)."""
    found = []
    upper = getattr(histogram, UPPER_BOUNDS, None)
    if not isinstance(upper, list):
        found.append(f"prometheus_client Histogram has no list {UPPER_BOUNDS!r}")
    buckets = getattr(histogram, BUCKETS, None)
    if not isinstance(buckets, list) or not all(hasattr(b, "inc") for b in buckets):
        found.append(f"prometheus_client Histogram has no list of values {BUCKETS!r}")
    elif isinstance(upper, list) and len(buckets) != len(upper):
        found.append(f"prometheus_client Histogram's {BUCKETS!r} no longer match "
                     f"{UPPER_BOUNDS!r}")
    if not hasattr(getattr(histogram, SUM, None), "inc"):
        found.append(f"prometheus_client Histogram has no value {SUM!r}")
    return found


def batching(histogram: Any) -> bool:
    """Whether a batch of observations can be added at once."""
    return not problems(histogram)


def bounds(histogram: Any) -> list[float]:
    """The buckets' upper bounds (+Inf last)."""
    return list(getattr(histogram, UPPER_BOUNDS))


def add_observations(histogram: Any, total: float, per_bucket: Sequence[int]) -> None:
    """Add observations summing to ``total``, ``per_bucket[i]`` of them in bucket i (the
    smallest bound at or above each value)."""
    getattr(histogram, SUM).inc(total)
    for value, n in zip(getattr(histogram, BUCKETS), per_bucket, strict=True):
        if n:
            value.inc(n)
