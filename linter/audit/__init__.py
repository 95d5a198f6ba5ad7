"""``oomguard audit``'s edges: reading a live cluster (:mod:`.live`) and the human formats
(:mod:`.text`, :mod:`.html`). The judging is :mod:`oomguard.policies.audit`."""
