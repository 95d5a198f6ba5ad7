"""The workers' connection counts, shared so that each worker can defer to a less loaded
one (``webhook/worker.py`` decides what counts; this is only the shared memory)."""

from __future__ import annotations

import mmap

__all__ = ["ConnectionCounts"]


class ConnectionCounts:
    """Every worker's number of open connections, in memory the gunicorn master maps before
    it forks its workers (anonymous and shared: no file, so a read-only root is fine).

    The master gives each new worker a slot (``claim``, in gunicorn's ``pre_fork``) and frees
    it when the worker exits. A worker writes its count there once it serves, and frees the
    slot itself as it begins to stop: a booting or stopping worker, which does not accept,
    must not hold the others back. An aligned 4-byte store is atomic: a reader sees an old
    count or the new one.
    """

    FREE = -1

    def __init__(self, slots: int) -> None:
        self._map = mmap.mmap(-1, 4 * slots)
        self._counts = memoryview(self._map).cast("i")
        for slot in range(slots):
            self._counts[slot] = self.FREE

    def claim(self, in_use: set[int]) -> int | None:
        """A slot for a new worker; it counts once the worker publishes."""
        for slot in range(len(self._counts)):
            if slot not in in_use:
                self._counts[slot] = self.FREE
                return slot
        return None  # more workers than slots: that one simply takes part in no balancing

    def release(self, slot: int | None) -> None:
        if slot is not None:
            self._counts[slot] = self.FREE

    def publish(self, slot: int, count: int) -> None:
        self._counts[slot] = max(count, 0)

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The smallest count among the other live workers; None when there are none."""
        others = [n for i, n in enumerate(self._counts) if i != slot and n != self.FREE]
        return min(others) if others else None
