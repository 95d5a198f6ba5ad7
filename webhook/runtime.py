"""Per-worker state: the current engine (reloaded when the policy file changes) and the
cluster view. Swapping the engine is one reference assignment, so request threads always see
a whole old or a whole new policy.

The policy file is polled every ``OOMGUARD_RELOAD_INTERVAL`` seconds (2 by default) by its
resolved path, inode, mtime and size: the ``..data`` symlink swap of a ConfigMap volume
changes the resolved path even when nothing else does.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field

from oomguard.policies.config import Policy, PolicyError, load_policy
from oomguard.policies.engine import Engine
from oomguard.webhook import logs, metrics
from oomguard.webhook.cluster import ClusterView

RELOAD_INTERVAL = float(os.environ.get("OOMGUARD_RELOAD_INTERVAL", "2"))
Signature = tuple[str, int, int, int]

# The policy ``oomguard webhook`` read before starting gunicorn; workers inherit it by fork
# and fall back to it when the file turned invalid meanwhile (a worker that fails to boot
# would stop the whole server).
startup_policy: Policy | None = None


def _signature(path: str) -> Signature | None:
    """What changes when the file changes, including ConfigMap volumes' symlink swaps."""
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    return (real, st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass
class Runtime:
    engine: Engine
    cluster: ClusterView
    own_namespace: str | None
    policy_path: str | None
    # the file as it was when the current policy was read: a change after that is reloaded
    policy_signature: Signature | None = None
    stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def policy(self) -> Policy:
        return self.engine.policy

    @classmethod
    def from_environment(cls) -> Runtime:
        path = os.environ.get("OOMGUARD_POLICY") or None
        signature = _signature(path) if path else None
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            if startup_policy is None:
                raise
            _reload_failed(exc, "the policy read at start-up")
            policy = startup_policy
        return cls(Engine(policy), ClusterView(policy), os.environ.get("OOMGUARD_NAMESPACE"),
                   path, signature)

    def start(self) -> None:
        if self.policy_path:
            threading.Thread(target=self._watch_policy, name="policy-reload",
                             daemon=True).start()
        self.cluster.start()

    def _watch_policy(self) -> None:
        while not self.stopped.wait(RELOAD_INTERVAL):
            self.check_policy()

    def check_policy(self) -> bool | None:
        """Reload the policy if its file changed: True/False for a reload that
        succeeded/failed, None when nothing changed (or the file is gone)."""
        assert self.policy_path is not None
        current = _signature(self.policy_path)
        if current == self.policy_signature or current is None:
            return None
        self.policy_signature = current  # a bad file is reported once, not every poll
        return self.reload()

    def reload(self) -> bool:
        try:
            policy = load_policy(self.policy_path)
        except PolicyError as exc:
            _reload_failed(exc, "the previous policy")
            return False
        self.engine = Engine(policy)
        self.cluster.set_policy(policy)
        metrics.POLICY_RELOADS.labels("ok").inc()
        logs.event(logging.INFO, "policy-reloaded", file=self.policy_path,
                   profile=policy.profile)
        return True


def _reload_failed(exc: PolicyError, keeping: str) -> None:
    metrics.POLICY_RELOADS.labels("error").inc()
    logs.event(logging.ERROR, "policy-reload-failed", error=str(exc)[:1000], serving=keeping)
