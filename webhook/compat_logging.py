"""The one private member of :mod:`logging` the webhook uses.

``logging._srcfile`` set to None makes every record skip finding its caller (a walk up the
stack for a file name and line number the webhook's JSON lines never print). CPython's
``Logger._log`` tests it before calling ``findCaller`` (Lib/logging/__init__.py); there is
no public switch. ``tests/test_compat.py`` checks it is still there.
"""

from __future__ import annotations

import logging

SRCFILE = "_srcfile"

__all__ = ["problems", "skip_caller_lookup"]


def skip_caller_lookup() -> None:
    if hasattr(logging, SRCFILE):
        setattr(logging, SRCFILE, None)


def problems() -> list[str]:
    """What this Python's logging lacks of the above, as messages (empty: all there)."""
    if not hasattr(logging, SRCFILE):
        return [f"logging has no {SRCFILE!r}: records would find their caller again "
                "(slower, not wrong); see webhook/compat_logging.py"]
    return []
