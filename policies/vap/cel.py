"""CEL text for the pod spec of any pod-bearing object, as the API server hands it to a
ValidatingAdmissionPolicy.

The expressions target Kubernetes' CEL environment of 1.30 (the first release with
``admissionregistration.k8s.io/v1`` policies): the base environment of
k8s.io/apiserver/pkg/cel/environment/base.go has the quantity library and optional types
since 1.28 and the strings extension version 2 (``join``) since 1.29. ``object`` and
``oldObject`` are ``dyn`` there, so every path is read with optional selection
(``a.?b.orValue(x)``) rather than ``has()`` chains, and map literals wrap their values in
``dyn()`` (the base environment demands homogeneous aggregate literals).

What the policy sees is the object after decoding and defaulting: quantities are strings,
absent fields are absent (never null), unknown fields are gone. The expressions rely on
that and on nothing the API server's own validation does not already guarantee.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from oomguard.policies.kinds import POD_TEMPLATE_PATHS
from oomguard.policies.rule import Path

# Python's str.strip() whitespace, as an RE2 class: the ignore annotation's tokens are
# stripped with it (policies.workload.model.PodModel.suppressions), and RE2's \s is ASCII only.
_WS_CHARS = [c for c in map(chr, range(0x3001)) if c.isspace()]


def _ws_class() -> str:
    ranges: list[tuple[int, int]] = []
    for code in map(ord, _WS_CHARS):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    parts = [rf"\x{{{a:x}}}" if a == b else rf"\x{{{a:x}}}-\x{{{b:x}}}" for a, b in ranges]
    return "[" + "".join(parts) + "]"


WHITESPACE = _ws_class()


def string(text: str) -> str:
    """A CEL string literal (single quotes; backslash and quote escaped)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def raw(text: str) -> str:
    """A CEL raw string literal, for regular expressions (no escapes but the quote)."""
    if "'" not in text:
        return "r'" + text + "'"
    if '"' not in text:
        return 'r"' + text + '"'
    raise ValueError(f"cannot write {text!r} as a raw CEL string")


def strings(items: Sequence[str]) -> str:
    return "[" + ", ".join(string(item) for item in items) + "]"


def select(root: str, path: Path, default: str = "{}") -> str:
    """``root.?a.?b.orValue(default)``: the value at ``path`` or ``default``."""
    if not path:
        return root
    return root + "".join(f".?{part}" for part in path) + f".orValue({default})"


def optional(root: str, *path: str) -> str:
    """``root.?a.?b``: an optional of the value at ``path``."""
    return root + "".join(f".?{part}" for part in path)


def template(root: str, extra_kinds: Sequence[Mapping[str, Any]] = ()) -> str:
    """The pod template (or the Pod itself) of ``root``, by kind; ``{}`` for other kinds.

    Mapped kinds (the policy's ``kinds``) come first, as in
    policies.kinds.pod_template_path (the policies match the groups).
    """
    branches: list[tuple[str, str]] = []
    for mapping in extra_kinds:
        condition = f"{root}.kind == {string(str(mapping['kind']))}"
        if mapping.get("apiVersion"):
            condition += f" && {root}.apiVersion == {string(str(mapping['apiVersion']))}"
        mapped: Path = tuple(str(mapping["podTemplate"]).split("."))
        branches.append((condition, select(root, mapped)))
    by_path: dict[Path | None, list[str]] = {}
    for kind, builtin in POD_TEMPLATE_PATHS.items():
        by_path.setdefault(builtin, []).append(kind)
    for path, kinds in by_path.items():
        condition = (f"{root}.kind == {string(kinds[0])}" if len(kinds) == 1
                     else f"{root}.kind in {strings(kinds)}")
        branches.append((condition, root if path is None else select(root, path)))
    text = "{}"
    for condition, value in reversed(branches):  # a ? x : b ? y : {} (right-associative)
        text = f"{condition} ? {value} : {text}"
    return text


# -- quantities ----------------------------------------------------------------------------
# ``opt`` below is CEL text of an optional (``c.?resources.?limits.?memory``); an absent
# value reads as '' which is no quantity.

def text(opt: str) -> str:
    return f"{opt}.orValue('')"


def valid(opt: str) -> str:
    return f"isQuantity({text(opt)})"


def quantity(opt: str) -> str:
    return f"quantity({text(opt)})"


def positive(opt: str) -> str:
    """The value is a quantity above zero (policies.workload.facts: ``value > 0``)."""
    return f"({valid(opt)} && {quantity(opt)}.sign() > 0)"


def times(var: str, factor: int, depth: int = 0) -> str:
    """CEL for ``var * factor`` (a quantity times a positive integer) with ``add`` only: the
    quantity library of 1.28 has no ``mul``. Short chains are spelled out; larger factors
    double a value bound with a one-element ``map`` (CEL of 1.30 has no ``cel.bind``)."""
    if factor < 1:
        raise ValueError("factor must be positive")
    if factor <= 4:
        return var + f".add({var})" * (factor - 1)
    half = times(var, factor // 2, depth + 1)
    bound = f"{var}_{depth}"
    doubled = f"{bound}.add({bound})" + (f".add({var})" if factor % 2 else "")
    return f"[{half}].map({bound}, {doubled})[0]"


# -- containers ----------------------------------------------------------------------------

def memory_limit(c: str) -> str:
    return optional(c, "resources", "limits", "memory")


def declared_request(c: str, resource: str = "memory") -> str:
    return optional(c, "resources", "requests", resource)


def limit(c: str, resource: str) -> str:
    return optional(c, "resources", "limits", resource)


def request(c: str, resource: str = "memory") -> str:
    """The request after API defaulting: a limit without a request becomes the request
    (SetDefaults_Pod, pkg/apis/core/v1/defaults.go; templates are judged as their Pods)."""
    return f"{declared_request(c, resource)}.or({limit(c, resource)})"


def name(c: str) -> str:
    return f"{c}.?name.orValue('')"


def init_label(c: str) -> str:
    """How messages name an init container: "sidecar 'x'" (restartPolicy Always) or
    "init container 'x'", as policies.workload.model does."""
    return (f"({c}.?restartPolicy.orValue('') == 'Always' ? 'sidecar' : 'init container') + "
            f"\" '\" + {name(c)} + \"'\"")


def main_label(c: str) -> str:
    return f"\"container '\" + {name(c)} + \"'\""
