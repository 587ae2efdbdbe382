"""`python -m streams` is the `guardrail` command."""

from guardrail.cli.main import main

main()
