"""The `tfpipe` subcommands, one module per area; `tfpipe/cli.py` is their table."""
