"""Subcommands of ``oomguard``, each a module with ``add_parser(subparsers)`` and
``run(args) -> int``; heavy imports happen inside ``run``."""
