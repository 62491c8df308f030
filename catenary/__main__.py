"""``python -m catenary`` runs the CLI."""

from catenary.cli.main import main

main()
