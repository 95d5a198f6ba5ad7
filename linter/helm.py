"""Render Helm charts for the linter: the ``helm`` binary when on PATH, else the optional
``oomguard[helm]`` extra (helm-python-sdk, Helm's Go SDK without a binary).

Each rendered template is written to its own file under a temporary folder and linted
under the template's own name (``CHART/templates/deployment.yaml``), with the line inside
the rendered document; :mod:`oomguard.linter.sourcemap` then moves the findings to the
template source line and names the values key (charts are added to it here).
A chart that cannot be rendered is an :class:`InputError` naming the chart (and, when Helm
says where, the template line at fault); the other inputs are still linted.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from oomguard.linter.inputs import InputError

if TYPE_CHECKING:
    from oomguard.linter.sourcemap.build import HelmSources

INSTALL_HINT = ("install the helm binary, or the optional extra: "
                "pip install 'oomguard[helm]' (helm-python-sdk)")

# `helm template` prints each manifest as "---\n# Source: CHART/templates/x.yaml\n<doc>\n".
_DOCUMENT = re.compile(r"^---[ \t]*\r?\n(?=# Source: )", re.MULTILINE)
_SOURCE = re.compile(r"# Source: (.+?)[ \t]*\r?\n")
# Where Helm says a template failed: "parse error at (c/templates/x.yaml:3): ...",
# "execution error at (c/templates/x.yaml:2:6): ...", "template: c/templates/x.yaml:2:6: ...".
_WHERE = re.compile(r"(?:\(|template: )(?P<template>[^\s():]+):(?P<line>\d+)(?::(?P<col>\d+))?")


class RenderError(Exception):
    """A chart that Helm refused to render (bad template, values, schema or chart)."""


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of values files and --set values: maps merge, anything else replaces."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def split_template_output(stdout: str) -> dict[str, str]:
    """``helm template`` output → {template path: its documents}, ``---``-separated."""
    manifests: dict[str, list[str]] = {}
    for chunk in _DOCUMENT.split(stdout):
        source = _SOURCE.match(chunk)
        if source is None:
            continue  # text before the first document
        body = chunk[source.end():]
        manifests.setdefault(source.group(1), []).append(
            body if body.endswith("\n") else body + "\n")
    return {template: "---\n".join(docs) for template, docs in manifests.items()}


def _render_with_binary(helm: str, chart: str, values: Sequence[str],
                        set_values: Sequence[str], release: str, namespace: str,
                        validate: bool = True) -> dict[str, str]:
    argv = [helm, "template", release, chart, "--namespace", namespace]
    if not validate:
        argv.append("--skip-schema-validation")
    for path in values:
        argv += ["--values", path]
    for item in set_values:
        argv += ["--set", item]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines()]
        errors = [line.removeprefix("Error: ") for line in lines if line.startswith("Error:")]
        detail = " ".join(errors or [line for line in lines
                                     if line and not line.startswith("Use --debug")])
        raise RenderError(detail or f"helm template exited with status {done.returncode}")
    return split_template_output(done.stdout)


def _render_with_sdk(helm: Any, chart: str, values: Sequence[str],
                     set_values: Sequence[str], release: str, namespace: str,
                     validate: bool = True) -> dict[str, str]:
    helm.validate_release_name(release)
    merged: dict[str, Any] = {}
    for path in values:  # later files win, then --set, as in `helm template`
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise RenderError(f"cannot read values file {path}: {exc.strerror or exc}"
                              ) from None
        _deep_merge(merged, helm.values_from_yaml(text) or {})
    for item in set_values:
        _deep_merge(merged, helm.parse_set_string(item))
    loaded = helm.Chart.load(chart)
    declared = [d.get("name") for d in loaded.metadata.get("dependencies") or []]
    present = {d.get("name") for d in loaded.dependencies}
    missing = [str(name) for name in declared if name not in present]
    if missing:  # `helm template` refuses these too (action.CheckDependencies)
        raise RenderError("found in Chart.yaml, but missing in charts/ directory: "
                          + ", ".join(missing))
    try:
        if validate:
            loaded.validate_schema(loaded.merge_values(merged))
    except helm.HelmValuesError as exc:
        raise RenderError(f"values don't meet the chart's schema: {exc}") from None
    rendered: dict[str, str] = loaded.render(merged, name=release, namespace=namespace,
                                            is_install=True)
    return rendered


def _load_sdk() -> tuple[Any, str | None]:
    """The helm-python-sdk module, or why it cannot be used."""
    try:
        import helm_python
    except ImportError:
        return None, f"cannot render the chart: {INSTALL_HINT}"
    except Exception as exc:  # noqa: BLE001 - HelmLibraryError: the native library
        return None, (f"cannot render the chart: helm-python-sdk is installed but unusable "
                      f"({_one_line(str(exc))}); {INSTALL_HINT}")
    return helm_python, None


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())


def _renders_nothing(text: str) -> bool:
    """Only blank lines, comments and document markers (a template switched off)."""
    return all(not line.strip() or line.lstrip().startswith("#") or line.strip() == "---"
               for line in text.splitlines())


def _display(chart: str, template: str) -> str:
    """``CHART_NAME/templates/x.yaml`` (Helm's name) → the file under the chart directory."""
    inside = template.split("/", 1)[1] if "/" in template else template
    return os.path.normpath(os.path.join(chart, inside))


def _render_error(chart: str, message: str) -> InputError:
    """Where Helm names a template line, the error is there (column 1 when Helm gives
    none). Otherwise it is about the chart as a whole (its values, schema, dependencies,
    Chart.yaml): it is put at line 1, column 1 of the chart's Chart.yaml, a file an
    annotation can land on, or of the chart archive."""
    message = _one_line(message) or "unknown error"
    where = _WHERE.search(message)
    text = f"helm could not render chart {chart}: {message}"
    if where is None:
        return InputError(_chart_file(chart), text, 1, 1)
    column = int(where.group("col")) if where.group("col") else 1
    return InputError(_display(chart, where.group("template")), text,
                      int(where.group("line")), column)


def _chart_file(chart: str) -> str:
    manifest = os.path.join(chart, "Chart.yaml")
    return manifest if os.path.isfile(manifest) else chart


Render = Callable[[str, Sequence[str], Sequence[str], bool], dict[str, str]]


def _binary_renderer(helm: str, release: str, namespace: str) -> Render:
    def render(chart: str, values: Sequence[str], set_values: Sequence[str],
               validate: bool) -> dict[str, str]:
        return _render_with_binary(helm, chart, values, set_values, release, namespace,
                                   validate)
    return render


def _sdk_renderer(sdk: Any, release: str, namespace: str) -> Render:
    def render(chart: str, values: Sequence[str], set_values: Sequence[str],
               validate: bool) -> dict[str, str]:
        return _render_with_sdk(sdk, chart, values, set_values, release, namespace, validate)
    return render


def render_charts(charts: Sequence[str], *, values: Sequence[str] = (),
                  set_values: Sequence[str] = (), release: str = "release",
                  namespace: str = "default", sources: HelmSources | None = None
                  ) -> tuple[list[tuple[str, str]], list[InputError], Callable[[], None]]:
    """Render every chart with the same values, release name and namespace.

    Returns (temporary path, display name) pairs, one per template that rendered a
    manifest, the charts that failed as errors, and a cleanup that removes the files.
    Each rendered chart is added to ``sources`` (when given), which can later move the
    findings on it to template lines and values keys.
    """
    workdir = tempfile.mkdtemp(prefix="oomguard-helm-")
    rendered: list[tuple[str, str]] = []
    errors: list[InputError] = []
    helm_binary = shutil.which("helm")
    for index, chart in enumerate(dict.fromkeys(charts)):
        if not os.path.exists(chart):
            errors.append(InputError(chart, "no such chart directory or archive"))
            continue
        try:
            if helm_binary:
                render = _binary_renderer(helm_binary, release, namespace)
            else:
                sdk, problem = _load_sdk()
                if problem is not None:
                    errors.append(InputError(_chart_file(chart), problem))
                    continue
                render = _sdk_renderer(sdk, release, namespace)
            manifests = render(chart, values, set_values, True)
        except Exception as exc:  # noqa: BLE001 - template errors, bad values, bad charts
            errors.append(_render_error(chart, str(exc) or type(exc).__name__))
            continue
        linted: dict[str, str] = {}
        for template, text in sorted(manifests.items()):
            name = os.path.basename(template)
            if name == "NOTES.txt" or name.startswith("_") or _renders_nothing(text):
                continue  # what Helm itself never sends to the cluster
            inside = template.split("/", 1)[1] if "/" in template else template
            path = os.path.normpath(os.path.join(workdir, str(index), inside))
            if not path.startswith(os.path.join(workdir, str(index), "")):
                errors.append(InputError(_chart_file(chart),
                                         f"template name outside the chart: {template}"))
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            rendered.append((path, _display(chart, template)))
            linted[_display(chart, template)] = text
        if sources is not None:
            sources.add(chart, linted, render, _display)
    return rendered, errors, lambda: shutil.rmtree(workdir, ignore_errors=True)
