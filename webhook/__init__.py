"""oomguard's validating admission webhook (Flask app under gunicorn)."""

from __future__ import annotations
