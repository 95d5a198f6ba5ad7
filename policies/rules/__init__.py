"""One module per rule, discovered by :mod:`policies.registry` (never by import side effects).

A rule module defines CODE, NAME, SEVERITY, SCOPE, ENABLED, PARAMS, DEFAULTS, DOC and a
``check(subject, params, context)`` generator of :class:`policies.rule.Violation`.
"""
