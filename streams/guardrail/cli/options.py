"""Options shared by several commands."""

from __future__ import annotations

import time
from typing import Any

import click

from guardrail.config import Settings, load_settings
from guardrail.errors import InputError
from guardrail.tools.export import parse_time


def settings_from(flags: dict[str, Any]) -> Settings:
    """Settings from GUARDRAIL_* variables, with the given non-None flags on top."""
    return load_settings(**flags)


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


def metrics_options(command: Any) -> Any:
    """--metrics-port and --metrics-bind: where /metrics, /livez and /readyz listen."""
    command = click.option(
        "--metrics-bind",
        help="Address the metrics port listens on [GUARDRAIL_METRICS_BIND, default 127.0.0.1; "
        "0.0.0.0 in a container].",
    )(command)
    return click.option(
        "--metrics-port",
        type=click.IntRange(0, 65535),
        help="Port of /metrics, /livez and /readyz, 0 to disable "
        "[GUARDRAIL_METRICS_PORT, default 9108].",
    )(command)


def log_options(command: Any) -> Any:
    """--loglevel and --log-format, for the long-running commands (worker, ingest)."""
    command = click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        help="text, or json: one object per line (time, level, logger, message, topic, "
        "partition, offset) for every logger [GUARDRAIL_LOG_FORMAT, default text].",
    )(command)
    return click.option(
        "--loglevel",
        default="info",
        show_default=True,
        type=click.Choice(["debug", "info", "warning", "error"]),
    )(command)


def time_ms(value: str | None, option: str, now_ms: int | None = None) -> int | None:
    """A --since/--until value as epoch ms: ISO 8601 (UTC unless it names a zone), epoch ms,
    or a duration before now (``24h``, ``90m``, ``7d``). A bad one is a usage error."""
    if value is None:
        return None
    now = int(time.time() * 1000) if now_ms is None else now_ms
    try:
        return parse_time(value, now)
    except InputError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
