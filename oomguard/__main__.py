"""``python -m oomguard``: the same as the ``oomguard`` command."""

from __future__ import annotations

import sys

from oomguard.cli import main

if __name__ == "__main__":
    sys.exit(main())
