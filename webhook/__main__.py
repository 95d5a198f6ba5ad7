from __future__ import annotations

import sys

from webhook.server import main

sys.exit(main())
