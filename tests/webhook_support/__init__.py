"""Helpers for the webhook tests: certificates, the real server launcher, a fake API
server for list/watch, and AdmissionReviews as kube-apiserver sends them."""

from __future__ import annotations

from tests.webhook_support.certs import client_context, make_ca, served_serial, write_cert
from tests.webhook_support.fake_api import FakeAPI, Watch, event, limit_range, node, serving
from tests.webhook_support.launcher import (
    Server,
    configmap_volume,
    connections_by_worker,
    cpus_of,
    free_port,
    running_server,
    start_server,
    stop,
    wait_for,
)
from tests.webhook_support.reviews import (
    GUARANTEED,
    RATIO_WARNING,
    container,
    deployment,
    kubelet_config_map,
    pod,
    review,
)

__all__ = [
    "GUARANTEED", "RATIO_WARNING", "FakeAPI", "Server", "Watch", "client_context",
    "configmap_volume", "connections_by_worker", "cpus_of", "container", "deployment", "event", "free_port", "kubelet_config_map",
    "limit_range", "make_ca", "node", "pod", "review", "running_server", "served_serial", "serving",
    "start_server", "stop", "wait_for", "write_cert",
]
