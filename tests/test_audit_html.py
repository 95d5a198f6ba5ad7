"""``oomguard audit --format html`` in a real headless Chromium: the page renders from a
file:// URL with no console errors (its CSP forbids every fetch and script, so a fetch
would be one), and a screenshot shows the node charts drawn in their colours."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from oomguard.linter.audit import html
from oomguard.policies.audit import audit_objects
from oomguard.policies.config import parse_policy_text
from tests import browser
from tests.audit_cluster import CONFIGZ_W2, container, controller, node, pod, pod_spec

pytestmark = pytest.mark.skipif(browser.chromium() is None,
                                reason="Debian package chromium is not installed "
                                       "(.ci/run installs it)")


def _owner(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": f"uid-{name}",
             "controller": True}]


def result() -> Any:
    big = pod_spec(container("cache", memory="3Gi", request="1Gi"))
    objects: list[dict[str, Any]] = [node("w-1", 8, 6, pressure=True), node("w-2", 16, 14),
                                     controller("Deployment", "cache", "shop", big)]
    for i in range(3):  # 9Gi of limits on a node with 6Gi allocatable
        objects.append(pod(f"cache-{i}", "shop", big, node_name="w-1",
                           owner=_owner("ReplicaSet", "cache-1")))
    objects.append(pod("debug", "shop", {"containers": [{"name": "sh", "image": "b:1"}]},
                       node_name="w-2"))
    return audit_objects(parse_policy_text("extends: default\n"), objects,
                         {"w-1": CONFIGZ_W2, "w-2": CONFIGZ_W2})


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "audit.html"
    path.write_text(html.render(result(), generated="test cluster"), encoding="utf-8")
    return path


def test_the_page_is_self_contained(page: Path) -> None:
    text = page.read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)""", text)
    assert "<script" not in text
    assert text.count('class="node-chart"') == 2
    assert "shop" in text and "OOM101" in text


def test_it_renders_without_console_errors(page: Path, tmp_path: Path) -> None:
    done = browser.run(page.as_uri(), tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert browser.console_messages(done.stderr) == []
    dom = done.stdout
    assert dom.count("<svg") >= 2 and "OOM kill order" in dom
    assert 'aria-label="memory of node w-1"' in dom


def test_screenshot_shows_the_node_charts(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    done = browser.run(page.as_uri(), tmp_path / "profile", f"--screenshot={shot}",
                       "--window-size=900,700")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    assert browser.console_messages(done.stderr) == []
    width, height, rows = browser.read_png(shot)
    assert (width, height) == (900, 700)
    histogram = browser.colour_histogram(rows)
    colours = {name: browser.count_colour(histogram, html.COLOURS[name])
               for name in ("allocatable", "requests", "limits", "over", "system")}
    # bars are hundreds of pixels wide and 18 high; the legend's squares are 10x10
    assert colours["allocatable"] > 2000, colours
    assert colours["requests"] > 1000, colours
    assert colours["limits"] > 2000, colours
    assert colours["over"] > 500, colours  # w-1: limits 9Gi above allocatable 6Gi
    assert colours["system"] > 200, colours
