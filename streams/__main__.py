"""`python -m streams` is the `guardrail` command."""

from streams.cli import main

main()
