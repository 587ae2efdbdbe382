"""The `guardrail bench` group."""

import json
from dataclasses import asdict

import click

from guardrail.tools.bench.engine import engine_bench
from guardrail.tools.bench.kafka import kafka_bench


@click.group()
def bench() -> None:
    """Benchmarks that print figures (see docs/benchmarks.md)."""


@bench.command(name="export")
@click.option("--events", type=click.IntRange(1), default=1_000_000, show_default=True)
@click.option("--customers", type=click.IntRange(1), default=100_000, show_default=True)
@click.option(
    "--chunk",
    type=click.IntRange(1000),
    default=50_000,
    show_default=True,
    help="The export's in-memory sort chunk.",
)
@click.option(
    "--bootstrap-servers", help="Use this broker instead of starting a throwaway local one."
)
def export_bench(events: int, customers: int, chunk: int, bootstrap_servers: str | None) -> None:
    """Export N generated events from a real broker; print the exporter's peak RSS.

    Shows that `guardrail export` sorts in bounded memory: its peak RSS stays flat while the
    exported file grows with N.
    """
    from guardrail.tools.bench.export import run_export_bench

    figures = run_export_bench(
        events, customers, chunk, bootstrap_servers, lambda m: click.echo(m, err=True)
    )
    click.echo(
        f"export of {figures.events:,} events: {figures.export_seconds:.1f} s "
        f"({figures.events_per_s:,.0f} events/s), peak RSS {figures.peak_rss_mb:.0f} MB, "
        f"file {figures.file_mb:.0f} MB, sort chunk {figures.chunk:,}"
    )
    click.echo(json.dumps(asdict(figures)))


bench.add_command(engine_bench)
bench.add_command(kafka_bench)
