"""Subcommands of the `vae-explorer` CLI, one module each (see vae_explorer/cli.py)."""
