"""The import rules of docs/architecture.md, read from the source (every import counts,
also those inside functions; only ``if TYPE_CHECKING:`` blocks do not run)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR: dict[str, str] = tomllib.loads(
    (ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-dir"]
# the command line sits above the linter and the webhook, which are peers
FRONT = ("oomguard.cli", "oomguard.commands", "oomguard.precommit_helm", "oomguard.__main__")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "oomguard.policies": ("oomguard.linter", "oomguard.webhook", *FRONT),
    "oomguard.linter": ("oomguard.webhook", *FRONT),
    "oomguard.webhook": ("oomguard.linter", *FRONT),
    # the two domains of the rule set know the engine's vocabulary, not each other
    "oomguard.policies.node": ("oomguard.policies.workload",),
    "oomguard.policies.workload": ("oomguard.policies.node", "oomguard.policies.engine"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGE_DIR.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if not any(p in ("__pycache__",) for p in parts) and \
                    not (package == "oomguard" and parts and parts[0] in
                         [f for f in PACKAGE_DIR.values() if f != "oomguard"]):
                found[".".join((package, *parts))] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(module: str) -> set[str]:
    """What ``module`` imports (absolute names; relative imports are not used here)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt], nested: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names
                             if f"{node.module}.{alias.name}" in MODULES)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(node.body, True)
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                for block in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, block, []):
                        visit(child.body if isinstance(child, ast.ExceptHandler) else [child],
                              nested)

    visit(tree.body, False)
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_source_has_every_layer() -> None:
    assert {"oomguard.cli", "oomguard.policies.engine", "oomguard.linter.runner",
            "oomguard.webhook.review", "oomguard.policies.workload.model"} <= set(MODULES)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_what_they_may(layer: str) -> None:
    wrong = sorted(f"{module} imports {name}"
                   for module in MODULES if _within(module, layer)
                   for name in imports(module)
                   if any(_within(name, banned) for banned in FORBIDDEN[layer]))
    assert wrong == []


def test_only_the_command_line_imports_both_linter_and_webhook() -> None:
    both = sorted(module for module in MODULES
                  if any(_within(n, "oomguard.linter") for n in imports(module))
                  and any(_within(n, "oomguard.webhook") for n in imports(module)))
    assert all(any(_within(m, front) for front in FRONT) for m in both), both


def test_no_import_cycle() -> None:
    """No module imports, even lazily inside a function, one that imports it back: a cycle
    ties two modules into one (only ``if TYPE_CHECKING:`` imports are left out)."""
    graph = {module: {name for name in imports(module) if name in MODULES
                      and name != module} for module in MODULES}
    for module, deps in graph.items():  # a package's __init__ runs before its modules
        graph[module] = {d for d in deps if not _within(module, d)}
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                walk(dep)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module)
