from __future__ import annotations

import sys

from oomguard.linter.cli import main

sys.exit(main())
