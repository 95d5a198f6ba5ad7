"""The rule set as Kubernetes ValidatingAdmissionPolicies (``oomguard vap``).

:func:`build` turns a policy into one ValidatingAdmissionPolicy and one binding per rule
that CEL can express exactly (policies.vap.rules); policies.vap.coverage says why the
others stay with the webhook; policies.vap.render writes the YAML stream.
"""

from __future__ import annotations

from oomguard.policies.vap.objects import ACTIONS, MIN_KUBERNETES, Bundle, build, validation_actions
from oomguard.policies.vap.render import explain_text, to_yaml

__all__ = ["ACTIONS", "MIN_KUBERNETES", "Bundle", "build", "validation_actions",
           "explain_text", "to_yaml"]
