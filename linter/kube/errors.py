"""Errors of the read-only client: each names the verb, the resource and what the server
(or the network) answered, so a user knows which RBAC rule or which connection to fix."""

from __future__ import annotations


def _kind_of(status: int | None, reason: str) -> str:
    if status == 401:
        return "unauthorized"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "not-found"
    if status == 410:
        return "expired"
    if status is None:
        return reason if reason in ("unreachable", "timeout", "config",
                                    "invalid-response") else "unreachable"
    return "http"


class KubeError(Exception):
    """A refused, failed or unanswered GET."""

    def __init__(self, verb: str, resource: str, status: int | None, reason: str,
                 message: str, *, namespace: str | None = None, name: str | None = None,
                 path: str = "") -> None:
        self.verb = verb
        self.resource = resource
        self.status = status
        self.reason = reason
        self.message = message
        self.namespace = namespace
        self.name = name
        self.path = path
        self.kind = _kind_of(status, reason)
        super().__init__(str(self))

    @property
    def target(self) -> str:
        what = f'{self.resource} "{self.name}"' if self.name else self.resource
        if self.namespace:
            what += f' in namespace "{self.namespace}"'
        return what

    def __str__(self) -> str:
        if self.status is None:
            return f"cannot {self.verb} {self.target}: {self.message}"
        answer = f"{self.status} {self.reason}".strip()
        detail = f": {self.message}" if self.message else ""
        return f"cannot {self.verb} {self.target}: {answer}{detail}"


class KubeConfigError(KubeError):
    """No usable kubeconfig, context or in-cluster service account."""

    def __init__(self, message: str) -> None:
        super().__init__("load", "kubeconfig", None, "config", message)

    def __str__(self) -> str:
        return f"cannot load the cluster configuration: {self.message}"
