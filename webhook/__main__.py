from __future__ import annotations

import sys

from oomguard.webhook.server import main

sys.exit(main())
