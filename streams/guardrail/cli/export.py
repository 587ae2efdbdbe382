"""`guardrail export`: a time range of the input topics as a replay file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO, Any

import click

from guardrail.cli.options import kafka_options, settings_from, time_ms
from guardrail.tools.export import Exporter
from guardrail.tools.spill_sort import DEFAULT_CHUNK


@click.command(name="export")
@kafka_options
@click.option(
    "--since",
    default="24h",
    show_default=True,
    help="From this time: ISO 8601 (UTC unless it says), epoch ms, or a duration ago (24h, 7d).",
)
@click.option("--until", help="Up to this time (same forms) [default: now].")
@click.option(
    "--out",
    type=click.File("w", encoding="utf-8", lazy=True),
    default="-",
    help="The replay file (default: stdout).",
)
@click.option(
    "--decisions",
    "decisions_out",
    type=click.File("w", encoding="utf-8", lazy=True),
    help="Also write the decisions of the output topics in the range here (JSON lines).",
)
@click.option(
    "--chunk",
    type=click.IntRange(1000),
    default=DEFAULT_CHUNK,
    show_default=True,
    help="Records sorted in memory at once; more spill to temporary files.",
)
@click.option(
    "--tmp-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the sort's spill files go [default: the system's temp dir].",
)
def export_cmd(
    since: str,
    until: str | None,
    out: IO[str],
    decisions_out: IO[str] | None,
    chunk: int,
    tmp_dir: Path | None,
    **flags: Any,
) -> None:
    """Export the five input topics between two times as a replay file.

    Records are chosen by their Kafka timestamp (--since inclusive, --until exclusive), values
    read as JSON or Avro (wire format, with --schema-registry-url), and written as the
    contract's replay lines in per-customer event order: customer by customer, each by `ts`.
    Memory stays bounded (an external merge sort). Records a worker would dead-letter are
    left out and counted. Progress goes to stderr. Feed the file to `guardrail replay`,
    `guardrail diff` or `guardrail report`. Exit status 1 when it cannot run.
    """
    settings = settings_from(flags)
    now_ms = int(time.time() * 1000)
    started = time.monotonic()

    def progress(stage: str, done: int, total: int) -> None:
        rate = done / max(time.monotonic() - started, 1e-9)
        click.echo(f"export: {done:,}/{total:,} records ({rate:,.0f}/s) {stage}", err=True)

    exporter = Exporter(
        settings,
        time_ms(since, "--since", now_ms),
        time_ms(until, "--until", now_ms),
        chunk=chunk,
        progress=progress,
        workdir=tmp_dir,
    )
    result = exporter.run(out, decisions_out)
    skipped = ", ".join(f"{kind} {n:,}" for kind, n in sorted(result.skipped.items()))
    click.echo(
        f"export: wrote {result.events:,} events"
        + (f" and {result.decisions:,} decisions" if decisions_out is not None else "")
        + f" in {result.seconds:.1f} s ({result.spill_files} spill files)"
        + (f"; left out: {skipped}" if skipped else ""),
        err=True,
    )
