"""oomguard: catch Kubernetes out-of-memory risks before they happen, explain them when they do.

One distribution, one import name. The subpackages map the repository's top-level folders
(pyproject.toml ``[tool.setuptools] package-dir``): ``oomguard.policies`` is ``policies/`` (the
shared rule set and engine), ``oomguard.linter`` is ``linter/``, ``oomguard.webhook`` is
``webhook/``.
"""

from __future__ import annotations

# The one place the version is written; pyproject.toml reads it (dynamic = ["version"]).
__version__ = "0.1.0"
