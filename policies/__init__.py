"""oomguard's shared rule set and engine.

This package never imports ``linter`` or ``webhook``; both of them import it.
"""

from __future__ import annotations

__version__ = "0.1.0"
