"""One module per ``oomguard`` subcommand; ``oomguard.cli.COMMANDS`` lists them."""
