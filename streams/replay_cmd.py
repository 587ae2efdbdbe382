"""`guardrail replay`: placeholder replaced by the lead engineer shortly."""

import click


@click.command()
def replay() -> None:
    """Replay a JSONL event file through the decision core."""
