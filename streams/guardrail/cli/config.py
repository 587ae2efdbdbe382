"""`guardrail config show`: the effective settings, as every command would read them."""

from __future__ import annotations

import click

from guardrail.cli.options import settings_from


@click.group()
def config() -> None:
    """Inspect the GUARDRAIL_* settings."""


@config.command()
def show() -> None:
    """Print every setting's effective value (secrets masked), one GUARDRAIL_* line each.

    Values come from the environment, else the defaults. An unknown GUARDRAIL_* variable is
    refused with the closest valid name.
    """
    for name, value in settings_from({}).shown().items():
        click.echo(f"{name}={value}")
