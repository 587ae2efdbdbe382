"""`guardrail bench engine | kafka | export`: benchmarks that print figures (tools/bench)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from guardrail.generate.stream import GeneratorConfig
from guardrail.tools.bench.engine import run_engine_bench
from guardrail.tools.bench.kafka import CANDIDATES, kafka_bench


@click.group()
def bench() -> None:
    """Benchmarks that print figures (see docs/benchmarks.md)."""


@bench.command("engine")
@click.option("--events", type=click.IntRange(1), default=1_000_000, show_default=True)
@click.option("--customers", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--days", type=click.FloatRange(min=0.1), default=90.0, show_default=True)
@click.option("--recommendation-share", type=click.FloatRange(0, 1), default=0.2, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--policy", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--json-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the figures here.",
)
def engine(
    events: int,
    customers: int,
    days: float,
    recommendation_share: float,
    seed: int,
    policy: Path | None,
    json_out: Path | None,
) -> None:
    """The pure engine on a generated stream: events/s, recommendations/s, RSS, state size.

    Generation and validation happen outside the timed section. Targets on one core:
    at least 100,000 events/s and a mean state of at most 2 KB after 90 simulated days.
    """
    cfg = GeneratorConfig(
        seed=seed,
        customers=customers,
        events=events,
        days=days,
        recommendation_share=recommendation_share,
    )
    click.echo(
        f"engine bench: {events:,} events, {customers:,} customers, {days:g} days, "
        f"{recommendation_share:.0%} recommendations",
        err=True,
    )
    figures = run_engine_bench(cfg, policy)
    for name, value in asdict(figures).items():
        shown = f"{value:>14,}" if isinstance(value, int) else f"{value:>14,.1f}"
        click.echo(f"  {name:<22} {shown}")
    if json_out:
        json_out.write_text(json.dumps(asdict(figures), indent=2) + "\n")


@bench.command("kafka")
@click.option("--bootstrap-servers", help="Use this broker instead of starting a local one.")
@click.option("--events", type=click.IntRange(1), default=500_000, show_default=True)
@click.option("--customers", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--recommendation-share", type=click.FloatRange(0, 1), default=0.2, show_default=True)
@click.option("--days", type=click.FloatRange(min=0.1), default=90.0, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--partitions", type=click.IntRange(1), default=8, show_default=True)
@click.option(
    "--latency-rate",
    type=click.FloatRange(min=1),
    default=1000,
    show_default=True,
    help="Recommendations/s of the live phase (signals come along in the stream's share).",
)
@click.option(
    "--latency-seconds",
    type=click.FloatRange(min=0),
    default=20,
    show_default=True,
    help="Length of the live phase; 0 skips it.",
)
@click.option("--store", type=click.Choice(["memory", "rocksdb"]), default="memory")
@click.option(
    "--max-hold-ms",
    type=click.IntRange(0),
    help="The guardrail's event-time ordering hold (default: the worker's default).",
)
@click.option(
    "--only",
    type=click.Choice(CANDIDATES),
    multiple=True,
    help="Run only these candidates (repeatable); default all.",
)
@click.option("--timeout", type=click.FloatRange(min=1), default=900, show_default=True)
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json-out", type=click.Path(dir_okay=False, path_type=Path))
def kafka(**options: Any) -> None:
    """Guardrail vs confluent-kafka and bare faust passthroughs, and the pure engine.

    On one broker (a local one unless --bootstrap-servers) and one generated stream:
    events/s and recommendations/s draining the preloaded stream, end-to-end latency p50/p99
    at a steady --latency-rate, peak RSS, and the ratios c/a and c/b.
    """
    kafka_bench(**options)


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


@bench.command(name="restore")
@click.option("--customers", type=click.IntRange(1), default=1_000_000, show_default=True)
@click.option("--partitions", type=click.IntRange(1), default=8, show_default=True)
@click.option(
    "--bootstrap-servers", help="Use this broker instead of starting a throwaway local one."
)
def restore_bench(customers: int, partitions: int, bootstrap_servers: str | None) -> None:
    """Time the confluent runtime's restore of N customers' state from the changelog.

    Writes N real-sized states to a compacted changelog topic, restores them into fresh
    RocksDB stores (an empty disk), then again from those stores (a restart: nothing missed).
    """
    import tempfile
    from pathlib import Path

    from guardrail.devstack.kafka import LocalKafka, free_ports
    from guardrail.tools.bench.restore import run_restore_bench

    def say(message: str) -> None:
        click.echo(message, err=True)

    if bootstrap_servers:
        figures = run_restore_bench(bootstrap_servers, customers, partitions, say)
    else:
        port, controller = free_ports(2)
        work = Path(tempfile.mkdtemp(prefix="guardrail-restore-kafka-"))
        kafka = LocalKafka(port, controller_port=controller, data_dir=work, heap="1g")
        kafka.start()
        try:
            figures = run_restore_bench(kafka.bootstrap, customers, partitions, say)
        finally:
            kafka.stop(quiet=True)
    click.echo(
        f"restore of {figures.customers:,} customers ({figures.changelog_mb:,.0f} MB of state, "
        f"{figures.partitions} partitions): {figures.restore_s:.1f} s "
        f"({figures.records_per_s:,.0f} records/s) from an empty disk; "
        f"{figures.restart_restore_s:.2f} s on a restart ({figures.restart_records} records); "
        f"RocksDB {figures.store_mb:,.0f} MB"
    )
    click.echo(json.dumps(asdict(figures)))
