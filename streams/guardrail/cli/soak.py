"""`guardrail soak`: steady load on one worker, watched over time (guardrail.tools.soak)."""

from __future__ import annotations

from pathlib import Path

import click

from guardrail.tools.soak import SOAK_BLOCK_CACHE_MB, SOAK_WRITE_BUFFER_MB, SoakOptions
from guardrail.tools.soak import soak as run


@click.command(short_help="Steady load on one worker: throughput, latency, memory.")
@click.option("--minutes", type=click.FloatRange(min=0.1), default=10.0, show_default=True)
@click.option(
    "--rate", type=click.FloatRange(min=1), default=500.0, show_default=True, help="Events/s."
)
@click.option(
    "--report-every",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="Seconds between reports.",
)
@click.option(
    "--customers",
    type=click.IntRange(min=1),
    default=2_000,
    show_default=True,
    help="Few enough that all are seen during warm-up: later RSS growth is then not more state.",
)
@click.option("--partitions", type=click.IntRange(min=1), default=4, show_default=True)
@click.option(
    "--rocksdb-write-buffer-mb",
    type=click.IntRange(min=1),
    default=SOAK_WRITE_BUFFER_MB,
    show_default=True,
    help="The soak worker's memtable size per partition (the worker's default: 8). Small, so "
    "RocksDB's memory reaches its bound in the warm-up third of a 10-minute run and growth "
    "after it is a leak, not a filling store. The worker's defaults take ~12 minutes to fill "
    "at 200 events/s: soak them with --minutes 30 or more.",
)
@click.option(
    "--rocksdb-block-cache-mb",
    type=click.IntRange(min=1),
    default=SOAK_BLOCK_CACHE_MB,
    show_default=True,
    help="The soak worker's block cache per partition (the worker's default: 16).",
)
@click.option(
    "--bootstrap-servers",
    help="Use this broker (its GUARDRAIL_* security settings apply) instead of starting one.",
)
@click.option(
    "--json-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write every sample and the summary here as JSON.",
)
def soak(
    minutes: float,
    rate: float,
    report_every: float,
    customers: int,
    partitions: int,
    rocksdb_write_buffer_mb: int,
    rocksdb_block_cache_mb: int,
    bootstrap_servers: str | None,
    json_out: Path | None,
) -> None:
    """Soak test: steady generated load on one worker; throughput, latency p99 and RSS.

    Every REPORT_EVERY seconds: events/s produced, decisions/s received, decision latency
    p50/p99 and the worker's RSS; at the end, whether RSS grew after warm-up. Starts its own
    local broker on free ports unless --bootstrap-servers is given; the worker uses RocksDB
    in a temporary directory and a fresh topic prefix.
    """
    run(
        SoakOptions(
            minutes=minutes,
            rate=rate,
            report_every=report_every,
            customers=customers,
            partitions=partitions,
            rocksdb_write_buffer_mb=rocksdb_write_buffer_mb,
            rocksdb_block_cache_mb=rocksdb_block_cache_mb,
            bootstrap_servers=bootstrap_servers,
            json_out=json_out,
        ),
        echo=click.echo,
    )
