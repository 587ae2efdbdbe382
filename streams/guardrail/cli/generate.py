"""`guardrail generate`: a seeded stream of events as JSON lines (guardrail.generate)."""

from __future__ import annotations

import sys

import click

from guardrail.generate.stream import START_MS, GeneratorConfig, write_jsonl


@click.command(short_help="Write a seeded stream of realistic events as JSON lines.")
@click.option(
    "--customers",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Number of distinct customers (ids c-000000 ...).",
)
@click.option(
    "--events",
    type=click.IntRange(min=0),
    default=10_000,
    show_default=True,
    help="Number of valid events to write (malformed lines come on top).",
)
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True),
    default=90.0,
    show_default=True,
    help="Simulated days the stream spans.",
)
@click.option(
    "--seed",
    type=int,
    default=42,
    show_default=True,
    help="Random seed: the same seed and options give the same file.",
)
@click.option(
    "--start-ms",
    type=click.IntRange(min=0),
    default=START_MS,
    show_default=True,
    help="Event time of the stream's start, epoch ms (default 2026-01-01T00:00Z).",
)
@click.option(
    "--recommendation-share",
    type=click.FloatRange(0, 1),
    default=0.2,
    show_default=True,
    help="Share of events that are recommendations.",
)
@click.option(
    "--failure-rate",
    type=click.FloatRange(0, 1),
    default=0.3,
    show_default=True,
    help="Share of recommendations built to be creepy (the rest are clean).",
)
@click.option(
    "--bad-line-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Chance of a malformed line after each event, to test error handling.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="Output file (JSON lines). Default: stdout.",
)
def generate(
    customers: int,
    events: int,
    days: float,
    seed: int,
    start_ms: int,
    recommendation_share: float,
    failure_rate: float,
    bad_line_rate: float,
    out: str,
) -> None:
    """Write a seeded, realistic stream of events as JSON lines, ready for `guardrail replay`.

    Purchases, browsing, locations, profiles and recommendations of a simulated customer base,
    in event-time order. A share of the recommendations (--failure-rate) is built to trip the
    guardrail's rules: re-offers, duplicates, bursts, unfilled merge tags, gift and life-event
    mix-ups, sensitive categories, surveillance copy, night pushes, ignored consent.

    \b
    Example: guardrail generate --customers 100000 --events 1000000 --out bench.jsonl
    """
    cfg = GeneratorConfig(
        seed=seed,
        customers=customers,
        events=events,
        days=days,
        start_ms=start_ms,
        recommendation_share=recommendation_share,
        failure_rate=failure_rate,
        bad_line_rate=bad_line_rate,
    )
    to_file = out != "-"
    show = to_file or sys.stderr.isatty()

    def progress(lines: int) -> None:
        click.echo(f"generate: {lines:,} lines", err=True)

    count = write_jsonl(cfg, out if to_file else None, progress if show else None)
    if to_file:
        click.echo(f"generate: wrote {count:,} lines to {out}", err=True)
