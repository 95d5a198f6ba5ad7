"""Source positions for findings on rendered Helm charts: the template line a person edits
and the values key the value came from.

Helm has no source map, so one is built (see :mod:`.annotate`, :mod:`.lines`,
:mod:`.values`, :mod:`.locate`): every template line that writes YAML text gets a trailing
YAML comment naming its file and line before a second render; the markers are read back
and stripped, and the result is aligned with the plain render that is linted, so the linted
text is Helm's own output byte for byte. A third render with sentinel values tells which
values key lands at which path of which object. Where no mapping is certain a finding keeps
its rendered position, marked as such.
"""
