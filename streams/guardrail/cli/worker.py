"""`guardrail worker`: run one faust worker of the guardrail."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from guardrail.config import Settings
from guardrail.core.policy import PolicyError, load_policy
from guardrail.kafka.topics import TopicError, ensure_topics


def settings_from(overrides: dict[str, Any]) -> Settings:
    """Settings from GUARDRAIL_* variables, with the given non-None flags on top."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise click.ClickException(f"bad settings: {problems}") from None


def kafka_options(command: Any) -> Any:
    """Flags shared by every command that talks to Kafka (each also read from GUARDRAIL_*)."""
    options = [
        click.option(
            "--bootstrap-servers",
            help="Kafka bootstrap servers [GUARDRAIL_BOOTSTRAP_SERVERS, default 127.0.0.1:9092].",
        ),
        click.option(
            "--topic-prefix",
            help="Prefix for every topic name [GUARDRAIL_TOPIC_PREFIX, default none].",
        ),
        click.option(
            "--partitions",
            type=click.IntRange(1),
            help="Partitions of topics it creates [GUARDRAIL_PARTITIONS, default 8].",
        ),
        click.option(
            "--schema-registry-url",
            help="Confluent-compatible schema registry; JSON values when unset "
            "[GUARDRAIL_SCHEMA_REGISTRY_URL].",
        ),
        click.option(
            "--security-protocol",
            type=click.Choice(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]),
            help="[GUARDRAIL_SECURITY_PROTOCOL, default PLAINTEXT]; SASL user and password "
            "only from GUARDRAIL_SASL_USERNAME / GUARDRAIL_SASL_PASSWORD.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


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
    try:
        load_policy(settings.policy)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    logging.basicConfig(
        level=loglevel.upper(), format="[%(asctime)s] %(levelname)s %(name)s: %(message)s"
    )
    try:
        partitions = ensure_topics(settings)
    except TopicError as exc:
        raise click.ClickException(str(exc)) from None
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
