"""`python -m guardrail` is the `guardrail` command."""

from guardrail.cli.main import main

main()
