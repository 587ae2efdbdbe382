"""`guardrail worker`: run one faust worker of the guardrail."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click
from prometheus_client import CollectorRegistry

from guardrail import logs
from guardrail.cli.options import kafka_options, log_options, metrics_options, settings_from
from guardrail.config import Settings
from guardrail.core.policy import load_policy
from guardrail.errors import ConfigError
from guardrail.kafka.topics import ensure_topics
from guardrail.metrics.health import HealthServer
from guardrail.worker.run import run_worker


@click.command(short_help="Run a worker: decide recommendations as they arrive.")
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
@metrics_options
@click.option(
    "--web-port",
    type=click.IntRange(1, 65535),
    help="faust's own web port, used only with GUARDRAIL_WEB_ENABLED=true (off by default; "
    "127.0.0.1, no table or router endpoints) [GUARDRAIL_WEB_PORT, default 6066].",
)
@click.option(
    "--runtime",
    type=click.Choice(["faust", "confluent"]),
    help="faust, or confluent (confluent-kafka, Kafka transactions: exactly once) "
    "[GUARDRAIL_RUNTIME, default faust].",
)
@log_options
def worker(loglevel: str, **flags: Any) -> None:
    """Run a guardrail worker: decide every proposed recommendation as it arrives.

    Creates missing topics (all with one partition count, the state changelog compacted),
    refuses topics that are not co-partitioned, then consumes the five input topics and
    writes decisions to recommendations.approved / recommendations.suppressed and bad
    records to guardrail.deadletter. Run several with the same settings to share the load.

    Every flag is also a GUARDRAIL_* variable; `guardrail config show` lists all of them
    (topic names one by one, GUARDRAIL_TOPICS=verify, TLS, SASL ...) with their values.
    """
    settings = settings_from(flags)
    load_policy(settings.policy)  # a bad policy stops here, before any topic is touched
    ensure_data_dir(settings.data_dir)
    logs.configure(loglevel, settings.log_format, settings.secrets())
    registry = CollectorRegistry()
    server = serve_health(settings, registry)  # from the start: alive, not ready yet
    partitions = ensure_topics(settings)
    if partitions != settings.partitions:
        settings = settings.model_copy(update={"partitions": partitions})
    run_worker(settings, loglevel, registry=registry, server=server)


def serve_health(settings: Settings, registry: CollectorRegistry) -> HealthServer | None:
    """The metrics port with /metrics, /livez, /readyz (None when the port is 0)."""
    if not settings.metrics_port:
        return None
    server = HealthServer(registry, settings.metrics_port, settings.metrics_bind)
    logging.getLogger("guardrail.metrics").info(
        "metrics and probes on http://%s:%d (/metrics /livez /readyz)", server.address, server.port
    )
    return server


def ensure_data_dir(path: Path) -> None:
    """Create the state directory (and its parents) if missing; one line if that fails."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the data dir {path} ({exc.strerror}): set GUARDRAIL_DATA_DIR "
            "to a writable directory"
        ) from None
