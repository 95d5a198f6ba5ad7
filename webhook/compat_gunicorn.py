"""Everything the webhook takes from gunicorn beyond its settings, in one place.

gunicorn documents a custom ``worker_class`` as a subclass of
``gunicorn.workers.base.Worker`` but not the members such a subclass uses; the master's
worker table is likewise undocumented. The webhook's worker (``webhook/worker.py``) does all
its own I/O, so what it needs is small, named here, and checked by
``tests/test_compat.py`` against the installed gunicorn: a version that renames one of them
fails that test with the member's name, not a worker that dies at start.
"""

from __future__ import annotations

from typing import Any

from gunicorn.workers.base import Worker

# members of a Worker instance the subclass reads or calls, set in Worker.__init__ or
# init_process: the listening sockets, the flag a stop clears, the loaded WSGI app, the
# settings, the logger, the master's pid and the heartbeat to the master
WORKER_ATTRIBUTES = ("sockets", "alive", "cfg", "log", "ppid")
WORKER_METHODS = ("init_process", "run", "handle_exit", "notify", "load_wsgi")
WORKER_LOADED = "wsgi"  # set by load_wsgi, during init_process
# settings read in the worker (gunicorn.config.Config attributes)
SETTINGS = ("threads", "graceful_timeout", "workers")
# the master's table of live workers, read in the pre_fork hook: {pid: worker}
ARBITER_WORKERS = "WORKERS"

__all__ = ["Worker", "live_workers", "problems"]


def live_workers(arbiter: Any) -> list[Any]:
    """The master's live workers (in the ``pre_fork`` hook)."""
    return list(getattr(arbiter, ARBITER_WORKERS).values())


def problems() -> list[str]:
    """What the installed gunicorn lacks of the above, as messages (empty: all there)."""
    import tempfile

    from gunicorn.arbiter import Arbiter
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    found: list[str] = []
    cfg = Config()
    with tempfile.TemporaryDirectory() as tmp:
        cfg.set("worker_tmp_dir", tmp)
        worker = Worker(0, 0, [], None, 30, cfg, Logger(cfg))
        for name in WORKER_ATTRIBUTES:
            if not hasattr(worker, name):
                found.append(f"gunicorn.workers.base.Worker instances have no {name!r}")
        worker.tmp.close()
    for name in WORKER_METHODS:
        if not callable(getattr(Worker, name, None)):
            found.append(f"gunicorn.workers.base.Worker has no method {name!r}")
    if "self.wsgi" not in _source(Worker.load_wsgi):
        found.append(f"gunicorn's Worker.load_wsgi no longer sets {WORKER_LOADED!r}")
    for name in SETTINGS:
        if not hasattr(cfg, name):
            found.append(f"gunicorn.config.Config has no setting {name!r}")
    if not isinstance(getattr(Arbiter, ARBITER_WORKERS, None), dict):
        found.append(f"gunicorn.arbiter.Arbiter has no {ARBITER_WORKERS!r} table")
    return found


def _source(function: Any) -> str:
    import inspect

    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""
