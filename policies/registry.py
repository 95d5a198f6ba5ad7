"""Discover rule modules under :mod:`policies.rules` and index them by code and name."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from functools import lru_cache

from oomguard.policies import rules as _rules_pkg
from oomguard.policies.rule import Rule, Scope
from oomguard.policies.workload.model import FEATURES


class Catalog:
    """All rules, immutable; lookups accept a code (any case) or a name."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(sorted(rules, key=lambda r: r.code))
        self._by_key: dict[str, Rule] = {}
        for rule in self.rules:
            for key in (rule.code.upper(), rule.name):
                if key in self._by_key:
                    raise RuntimeError(f"two rules claim {key!r}: {self._by_key[key].module} "
                                       f"and {rule.module}")
                self._by_key[key] = rule

    def get(self, key: str) -> Rule | None:
        key = key.strip()
        return self._by_key.get(key) or self._by_key.get(key.upper())

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """Import every module in ``policies/rules`` that declares a CODE."""
    found = []
    for info in pkgutil.iter_modules(_rules_pkg.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_rules_pkg.__name__}.{info.name}")
        if hasattr(module, "CODE"):
            rule = Rule.from_module(module)
            if rule.requires is not None and (rule.scope is not Scope.WORKLOAD
                                              or rule.requires not in FEATURES):
                raise RuntimeError(f"{rule.module}: REQUIRES {rule.requires!r} is no feature "
                                   f"of a workload model ({', '.join(sorted(FEATURES))})")
            found.append(rule)
    return Catalog(found)
