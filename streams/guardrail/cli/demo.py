"""`guardrail demo`: the whole product on a local Kafka, in one command (guardrail.tools.demo)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from guardrail.tools.demo import DemoOptions, run, stop_kept


@click.command(short_help="Run the guardrail end to end on a local Kafka, then explain.")
@click.option(
    "--customers",
    type=click.IntRange(min=1),
    default=300,
    show_default=True,
    help="Distinct customers in the generated dataset.",
)
@click.option(
    "--events",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="Events to generate and stream.",
)
@click.option(
    "--seed",
    type=int,
    default=7,
    show_default=True,
    help="Generator seed: the same seed gives the same events and decisions.",
)
@click.option(
    "--failure-rate",
    type=click.FloatRange(0, 1),
    default=0.3,
    show_default=True,
    help="Share of recommendations built to trip a rule.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65534),
    default=None,
    help="Kafka port (the controller takes PORT+1). [default: 9092, or the next free one]",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="The worker's Prometheus port. [default: 9108, or the next free one]",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Broker data, worker state, logs and the dataset (emptied at each run).",
)
@click.option(
    "--keep-running",
    is_flag=True,
    help="Leave the broker and the worker up afterwards, to explore.",
)
@click.option(
    "--stop",
    "stop_only",
    is_flag=True,
    help="Only stop what an earlier --keep-running left up, then exit.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=10),
    default=180.0,
    show_default=True,
    help="Seconds to wait for the broker, the worker, and the decisions each.",
)
@click.option(
    "--foreign",
    is_flag=True,
    help="A brand's own topics instead: orders and clicks in its own shapes, keyed by order "
    "or click id, librdkafka's default partitioner; `guardrail ingest` maps them into the "
    "contract's topics (docs/integration.md).",
)
def demo(
    customers: int,
    events: int,
    seed: int,
    failure_rate: float,
    port: int | None,
    metrics_port: int | None,
    data_dir: Path,
    keep_running: bool,
    stop_only: bool,
    timeout: float,
    foreign: bool,
) -> None:
    """Run the guardrail end to end on a local Kafka and show what it decides and why.

    Fetches Kafka on first use (java and mvn needed), starts a broker and a worker, streams a
    generated dataset with every failure family through them, then prints decisions by
    action and reason, four before/after examples, a check against the pure replay and
    stage timings, and ends by writing an HTML report (report.html in --data-dir) and saying
    where it is. Stops what it started, also on Ctrl-C.
    """
    if foreign and keep_running:
        raise click.UsageError("--keep-running does not apply with --foreign")
    if stop_only:
        if not stop_kept(data_dir):
            click.echo(f"nothing to stop: no demo stack is running from {data_dir}", err=True)
        return
    opts = DemoOptions(
        customers, events, seed, failure_rate, port, metrics_port, data_dir, keep_running, timeout
    )
    status = run(opts, foreign=foreign)
    if status:
        sys.exit(status)
