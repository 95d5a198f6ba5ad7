"""A time budget for judging one object (the webhook's ``judge-timeout``).

Python cannot stop a thread from outside, and a gunicorn threaded worker runs each review on
a thread of its own: a review that ran long would keep its thread and a share of the CPU
after the answer had been sent. So the budget is checked by the judging thread itself, at
the places the work is done in steps: before each rule, after each violation, every few
hundred containers of the model, between the object and its ``oldObject``. When it is spent,
:class:`JudgeTimeout` ends the judging there and the thread is free; no single step is longer
than one rule over one object, and the rules are linear in the object's size.
"""

from __future__ import annotations

import time


class JudgeTimeout(Exception):
    """The budget was spent before the object was judged (object content, not a bug)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"not judged within {seconds:g}s")
        self.seconds = seconds


class Deadline:
    """A point in monotonic time; :meth:`check` raises JudgeTimeout once it has passed.

    One per review (never shared: it holds nothing but its own instant)."""

    __slots__ = ("seconds", "at")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise JudgeTimeout(self.seconds)
