"""Make docs/audit-report.png: `oomguard audit --format html --incidents` over the test
cluster of tests/audit_cluster.py (served by tests/kube_stub), photographed by headless
Chromium. Usage: python bench/audit_screenshot.py [OUT.png]"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from oomguard.cli import main  # noqa: E402
from tests import audit_cluster as cluster  # noqa: E402
from tests import browser  # noqa: E402
from tests.kube_stub import serving  # noqa: E402


def run(out: Path) -> int:
    directory = Path(tempfile.mkdtemp())
    os.environ.pop("KUBECONFIG", None)
    (directory / "policy.yaml").write_text(cluster.POLICY)
    with pytest.MonkeyPatch.context() as monkeypatch, serving(directory) as stub:
        cluster.register_extra_kinds(monkeypatch)
        cluster.populate(stub)
        killed = cluster.pod("worker", "shop", cluster.pod_spec(
            cluster.container("worker", memory="256Mi", request="256Mi")))
        killed["status"]["containerStatuses"] = [{
            "name": "worker", "restartCount": 3, "ready": False, "image": "w:1",
            "imageID": "", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                         "startedAt": "2026-12-02T10:00:00Z",
                                         "finishedAt": "2026-12-02T10:05:00Z"}}}]
        stub.add(killed)
        config = stub.kubeconfig(directory / "kubeconfig", namespace="shop")
        page = directory / "audit.html"
        main(["audit", "--kubeconfig", str(config), "-A", "--kubelet-timeout", "0.5",
              "--policy", str(directory / "policy.yaml"), "--format", f"html:{page}",
              "--incidents"])
    done = browser.run(page.as_uri(), directory / "profile", f"--screenshot={out}",
                       "--window-size=1200,1500")
    print(out, done.returncode, browser.console_messages(done.stderr))
    return done.returncode


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "audit-report.png"))
