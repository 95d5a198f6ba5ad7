"""The workers' shared connection counts (webhook/balance.py)."""

from __future__ import annotations

from oomguard.webhook.balance import ConnectionCounts


def test_slots_are_claimed_published_and_freed() -> None:
    counts = ConnectionCounts(3)
    first, second = counts.claim(set()), counts.claim({0})
    assert (first, second) == (0, 1)
    assert counts.fewest_elsewhere(0) is None  # a claimed slot counts once it publishes
    counts.publish(1, 4)
    counts.publish(0, -2)  # a count never goes below zero
    assert counts.fewest_elsewhere(0) == 4 and counts.fewest_elsewhere(1) == 0
    counts.release(1)  # a stopping worker holds nobody back
    assert counts.fewest_elsewhere(0) is None
    assert counts.claim({0, 1, 2}) is None  # no slot left: that worker takes part in none
    counts.release(None)
