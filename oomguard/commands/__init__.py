"""Subcommands of ``oomguard`` as plain modules: ``add_parser(subparsers)`` and
``run(args) -> int``, heavy imports inside ``run`` (the command line starts fast)."""
