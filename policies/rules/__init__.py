"""One module per rule, discovered by :mod:`policies.registry` (never by import side effects).

A rule module defines CODE, NAME, SEVERITY, SCOPE, DOC and a ``check(subject, params,
context)`` generator of :class:`policies.rule.Violation`; ENABLED (default True), PARAMS and
DEFAULTS with a typed ``Params`` class (default: none), and REQUIRES are optional (see
:class:`policies.rule.Rule`).
"""
