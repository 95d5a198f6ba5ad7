"""Render Helm charts for the linter: the ``helm`` binary when on PATH, else the optional
``oomguard[helm]`` extra (helm-python-sdk, Helm's Go SDK without a binary).

Each rendered template is written to its own file under a temporary folder and reported
under the template's own name (``CHART/templates/deployment.yaml``), so findings point at
the template that produced the object, with the line inside the rendered document.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from linter.inputs import InputError

_SOURCE = re.compile(r"^# Source: (\S+)\s*$", re.MULTILINE)
INSTALL_HINT = ("install the helm binary, or the optional extra: "
                "pip install 'oomguard[helm]' (helm-python-sdk)")


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def _render_with_binary(helm: str, chart: str, values: Sequence[str],
                        set_values: Sequence[str], release: str, namespace: str
                        ) -> dict[str, str]:
    argv = [helm, "template", release, chart, "--namespace", namespace]
    for path in values:
        argv += ["-f", path]
    for item in set_values:
        argv += ["--set", item]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"helm template exited {done.returncode}")
    manifests: dict[str, str] = {}
    parts = _SOURCE.split(done.stdout)
    for template, body in zip(parts[1::2], parts[2::2], strict=False):
        manifests[template] = manifests.get(template, "") + "---\n" + body
    return manifests


def _render_with_sdk(chart: str, values: Sequence[str], set_values: Sequence[str],
                     release: str, namespace: str) -> dict[str, str]:
    import helm_python as helm

    merged: dict[str, Any] = {}
    for path in values:
        with open(path, encoding="utf-8") as handle:
            _deep_merge(merged, helm.values_from_yaml(handle.read()) or {})
    for item in set_values:
        _deep_merge(merged, helm.parse_set_string(item))
    loaded = helm.Chart.load(chart)
    loaded.validate_schema(loaded.merge_values(merged))
    rendered: dict[str, str] = loaded.render(merged, name=release, namespace=namespace,
                                            is_install=True)
    return rendered


def render_charts(charts: Sequence[str], *, values: Sequence[str] = (),
                  set_values: Sequence[str] = (), release: str = "release",
                  namespace: str = "default"
                  ) -> tuple[list[tuple[str, str]], list[InputError], Callable[[], None]]:
    """Render every chart; return (path, display name) pairs, errors, and a cleanup."""
    workdir = tempfile.mkdtemp(prefix="oomguard-helm-")
    rendered: list[tuple[str, str]] = []
    errors: list[InputError] = []
    helm_binary = shutil.which("helm")
    for chart in charts:
        try:
            if helm_binary:
                manifests = _render_with_binary(helm_binary, chart, values, set_values,
                                                release, namespace)
            else:
                try:
                    import helm_python  # noqa: F401
                except ImportError:
                    errors.append(InputError(chart, f"cannot render the chart: {INSTALL_HINT}"))
                    continue
                manifests = _render_with_sdk(chart, values, set_values, release, namespace)
        except Exception as exc:  # noqa: BLE001 - template errors, bad values, bad charts
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            errors.append(InputError(chart, f"helm could not render the chart: {message}"))
            continue
        for template, text in sorted(manifests.items()):
            if not text.strip() or not template.endswith((".yaml", ".yml", ".json")):
                continue  # NOTES.txt, helpers, templates that render nothing
            relative = template.split("/", 1)[1] if "/" in template else template
            path = os.path.join(workdir, os.path.basename(os.path.abspath(chart)), relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            rendered.append((path, os.path.join(chart, relative)))
    return rendered, errors, lambda: shutil.rmtree(workdir, ignore_errors=True)
