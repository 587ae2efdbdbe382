"""The `guardrail bench` group."""

import click

from streams.bench.engine import engine_bench


@click.group()
def bench() -> None:
    """Benchmarks that print figures (see the README's results table)."""


bench.add_command(engine_bench)
