"""The `guardrail bench` group."""

import click

from guardrail.tools.bench.engine import engine_bench
from guardrail.tools.bench.kafka import kafka_bench


@click.group()
def bench() -> None:
    """Benchmarks that print figures (see docs/benchmarks.md)."""


bench.add_command(engine_bench)
bench.add_command(kafka_bench)
