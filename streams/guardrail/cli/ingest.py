"""`guardrail ingest`: map a brand's own topics into the contract's input topics."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import click
from prometheus_client import CollectorRegistry

from guardrail import logs
from guardrail.cli.options import kafka_options, log_options, metrics_options, settings_from
from guardrail.cli.worker import serve_health
from guardrail.ingest.mapping import load_mapping
from guardrail.kafka.topics import ensure_topics


@click.command()
@kafka_options
@click.option(
    "--mapping",
    "ingest_mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Mapping YAML: source topic -> record type, field paths (JMESPath), units, "
    "constants, key [GUARDRAIL_INGEST_MAPPING]. See docs/integration.md.",
)
@click.option(
    "--group",
    "ingest_group",
    help="Consumer group; instances with the same one share the source partitions "
    "[GUARDRAIL_INGEST_GROUP, default <app id>-ingest].",
)
@metrics_options
@log_options
def ingest(loglevel: str, **flags: Any) -> None:
    """Read a brand's own topics and write the contract's input topics.

    Each record of a mapped source topic becomes one contract record (purchase, location,
    browsing, profile, recommendation), keyed by customer_id and partitioned as the worker
    expects (murmur2, the Java client's partitioner), whatever partitioner the brand's
    producers used. Records that cannot be mapped go to the dead-letter topic with their
    source topic, partition and offset. Offsets are committed only once the outputs are
    acknowledged. Stateless: run several with one --group to share the load.

    Every setting is also a GUARDRAIL_* variable (`guardrail config show`).
    """
    settings = settings_from(flags)
    if settings.ingest_mapping is None:
        raise click.UsageError("--mapping (or GUARDRAIL_INGEST_MAPPING) is required")
    mapping = load_mapping(settings.ingest_mapping)
    logs.configure(loglevel, settings.log_format, settings.secrets())
    registry = CollectorRegistry()
    server = serve_health(settings, registry)
    ensure_topics(settings)

    from guardrail.ingest.runner import Ingest
    from guardrail.metrics.ingest_metrics import IngestMetrics

    runner = Ingest(settings, mapping, IngestMetrics(registry))
    if server is not None:
        server.set_checks(*runner.checks())
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    runner.run(stop)
