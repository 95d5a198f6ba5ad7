"""``oomguard audit``'s pure core: live objects in, owner-aware findings, node memory
pictures and PolicyReports out. Reading the API is the command's business
(``oomguard.commands.audit``); nothing here does I/O."""

from __future__ import annotations

from oomguard.policies.audit.core import Audit, AuditResult, Judged, Problem, audit_objects

__all__ = ["Audit", "AuditResult", "Judged", "Problem", "audit_objects"]
