"""Per-worker state: the current engine (reloaded when the policy file changes) and the
cluster view. Swapping the engine is one reference assignment, so request threads always see
a whole old or a whole new policy."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from policies.config import Policy, PolicyError, load_policy
from policies.engine import Engine
from webhook import metrics
from webhook.cluster import ClusterView

log = logging.getLogger("oomguard.webhook")
RELOAD_INTERVAL = float(os.environ.get("OOMGUARD_RELOAD_INTERVAL", "2"))


def _signature(path: str) -> tuple[str, int, int, int] | None:
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
    policy_signature: tuple[str, int, int, int] | None = None

    @property
    def policy(self) -> Policy:
        return self.engine.policy

    @classmethod
    def from_environment(cls) -> Runtime:
        path = os.environ.get("OOMGUARD_POLICY") or None
        signature = _signature(path) if path else None
        policy = load_policy(path)
        return cls(Engine(policy), ClusterView(policy), os.environ.get("OOMGUARD_NAMESPACE"),
                   path, signature)

    def start(self) -> None:
        if self.policy_path:
            threading.Thread(target=self._watch_policy, name="policy-reload",
                             daemon=True).start()
        self.cluster.start()

    def _watch_policy(self) -> None:
        assert self.policy_path is not None
        stop = threading.Event()
        while not stop.wait(RELOAD_INTERVAL):
            current = _signature(self.policy_path)
            if current == self.policy_signature or current is None:
                continue
            self.policy_signature = current
            self.reload()

    def reload(self) -> bool:
        try:
            policy = load_policy(self.policy_path)
        except PolicyError as exc:
            metrics.POLICY_RELOADS.labels("error").inc()
            log.error('{"event": "policy-reload-failed", "error": %s}', _json(str(exc)))
            return False
        self.engine = Engine(policy)
        self.cluster.policy = policy
        metrics.POLICY_RELOADS.labels("ok").inc()
        log.info('{"event": "policy-reloaded", "file": %s}', _json(self.policy_path or ""))
        return True


def _json(text: str) -> str:
    import json

    return json.dumps(text)
