"""Pure parts of the webhook's serving: which CPU a worker gets, how review lines are
batched."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from oomguard.webhook import affinity, logs


@pytest.mark.parametrize("slot, allowed, workers, mode, expected", [
    (0, [0, 1], 2, "auto", 0),
    (1, [0, 1], 2, "auto", 1),
    (2, [0, 1], 2, "auto", 0),  # a worker started beside the old ones at a reload
    (3, [4, 6], 4, "auto", 6),  # a cpuset's own CPUs, whatever their numbers
    (0, [0, 1, 2, 3], 2, "auto", None),  # more CPUs than workers: the kernel chooses
    (0, [0, 1], 2, "off", None),
    (None, [0, 1], 2, "auto", None),  # no slot (more workers than slots)
    (0, [], 2, "auto", None),  # the OS cannot tell
], ids=["first", "second", "reload", "cpuset", "many-cpus", "off", "no-slot", "unknown"])
def test_cpu_for(slot: int | None, allowed: list[int], workers: int, mode: str,
                 expected: int | None) -> None:
    assert affinity.cpu_for(slot, allowed, workers, mode) == expected


def test_pin_refused_is_no_pin() -> None:
    assert affinity.pin(None) is None
    assert affinity.pin(10_000) is None  # no such CPU: the OS refuses, the worker goes on


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """What the review log writes to stderr, with no timed writes (only full batches and
    flush())."""
    out: list[bytes] = []
    monkeypatch.setattr(logs, "_write", out.append)
    monkeypatch.setattr(logs, "_buffer", logs._Buffer())
    monkeypatch.setattr(logs, "FLUSH_EVERY", 3600.0)
    level = logs.log.level
    logs.log.setLevel(logging.INFO)
    yield out
    logs.log.setLevel(level)


def test_review_lines_go_out_in_whole_batches_of_at_most_pipe_buf(
        writes: list[bytes]) -> None:
    fields = [{"event": "review", "uid": f"u{i}", "note": "x" * (i % 300)} for i in range(200)]
    for entry in fields:
        logs.review(entry)
    assert writes  # full batches went out without waiting
    logs.flush()
    assert all(len(w) <= logs.PIPE_BUF and w.endswith(b"\n") for w in writes)
    lines = b"".join(writes).splitlines()
    assert [json.loads(line) for line in lines] == fields  # whole, in order, once each


def test_a_line_longer_than_pipe_buf_goes_out_alone(writes: list[bytes]) -> None:
    logs.review({"uid": "small"})
    logs.review({"uid": "big", "note": "y" * 5000})
    logs.review({"uid": "after"})
    logs.flush()
    uids = [[json.loads(line)["uid"] for line in w.splitlines()] for w in writes]
    assert uids == [["small"], ["big"], ["after"]]
