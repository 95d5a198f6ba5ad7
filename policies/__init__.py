"""oomguard's shared rule set and engine.

This package never imports ``oomguard.linter`` or ``oomguard.webhook``; both of them import it.
"""

from __future__ import annotations
