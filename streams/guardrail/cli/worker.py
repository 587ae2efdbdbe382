"""`guardrail worker`: run one faust worker of the guardrail."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from guardrail.cli.options import kafka_options, settings_from
from guardrail.config import Settings
from guardrail.core.policy import load_policy
from guardrail.kafka.topics import ensure_topics


@click.command()
@kafka_options
@click.option(
    "--policy",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Policy YAML [GUARDRAIL_POLICY, default: the contract's policy].",
)
@click.option(
    "--store", help="State store: rocksdb:// or memory:// [GUARDRAIL_STORE, default rocksdb://]."
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where RocksDB state lives [GUARDRAIL_DATA_DIR, default var/worker].",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    help="Prometheus /metrics port, 0 to disable [GUARDRAIL_METRICS_PORT, default 9108].",
)
@click.option(
    "--web-port",
    type=click.IntRange(1, 65535),
    help="faust's own web port [GUARDRAIL_WEB_PORT, default 6066].",
)
@click.option(
    "--runtime",
    type=click.Choice(["faust", "confluent"]),
    help="faust, or confluent (confluent-kafka, Kafka transactions: exactly once) "
    "[GUARDRAIL_RUNTIME, default faust].",
)
@click.option(
    "--loglevel",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def worker(loglevel: str, **flags: Any) -> None:
    """Run a guardrail worker: decide every proposed recommendation as it arrives.

    Creates missing topics (all with one partition count, the state changelog compacted),
    refuses topics that are not co-partitioned, then consumes the five input topics and
    writes decisions to recommendations.approved / recommendations.suppressed and bad
    records to guardrail.deadletter. Run several with the same settings to share the load.
    """
    settings = settings_from(flags)
    load_policy(settings.policy)  # a bad policy stops here, before any topic is touched
    logging.basicConfig(
        level=loglevel.upper(), format="[%(asctime)s] %(levelname)s %(name)s: %(message)s"
    )
    partitions = ensure_topics(settings)
    if partitions != settings.partitions:
        settings = settings.model_copy(update={"partitions": partitions})
    run_worker(settings, loglevel)


def use_uvloop() -> None:
    """uvloop as asyncio's event loop (mode's own switch), before faust builds any loop.

    faust spends much of each event in the event loop itself (a task or future per message,
    per send, per wait); uvloop does the loop's part in C: bench kafka, alternated runs,
    ~+10-15% events per CPU-second for the worker and the bare faust agent alike.
    """
    import mode.loop

    mode.loop.use("uvloop")


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    """Run the worker in this process until it is stopped (SIGTERM/SIGINT)."""
    if settings.runtime == "confluent":
        from guardrail.worker.confluent.runtime import run_confluent_worker

        run_confluent_worker(settings)
        return
    use_uvloop()
    import faust

    from guardrail.worker.faust_app import create_app

    app, _ = create_app(settings)
    faust.Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()
