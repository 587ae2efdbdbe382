"""Worker settings: environment variables (``GUARDRAIL_*``) overridden by command-line flags.

An unknown ``GUARDRAIL_*`` variable is refused (with the closest valid name), so a typo never
silently leaves a default in place; :func:`load_settings` does that check and names the
variable in every error.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from guardrail.core.validation import problems
from guardrail.errors import ConfigError
from guardrail.logs import librdkafka_config

ENV_PREFIX = "GUARDRAIL_"
# GUARDRAIL_* variables that are not settings: the devstack's download cache and schema dir,
# and the chaos test's knobs (prefix).
OTHER_VARIABLES = frozenset({"GUARDRAIL_CACHE", "GUARDRAIL_SCHEMAS_DIR"})
OTHER_PREFIXES = ("GUARDRAIL_CHAOS_",)

# Logical topic -> default name (the contract's). A prefix is prepended to every default;
# each name can also be set on its own (``GUARDRAIL_TOPIC_<LOGICAL>``), for a brand's topics.
# The logical names of the input topics are the record kinds (``EVENT_TYPES``): settings,
# metric labels and tools use no other spelling.
INPUT_TOPICS: dict[str, str] = {
    "purchase": "customer.purchases",
    "location": "customer.locations",
    "browsing": "customer.browsing",
    "profile": "customer.profiles",
    "recommendation": "recommendations.proposed",
}
OUTPUT_TOPICS: dict[str, str] = {
    "approved": "recommendations.approved",
    "suppressed": "recommendations.suppressed",
    "deadletter": "guardrail.deadletter",
}

# Approved records carry the full Decision (JSON) in this header; the value is the Recommendation.
DECISION_HEADER = "guardrail-decision"

MASK = "****"

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


TOPIC_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class Settings(BaseSettings):
    """Everything a worker, a replay or the demo needs to reach Kafka and decide."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    # One topic's full name each (None: prefix + the contract's default name).
    topic_purchase: str | None = None
    topic_location: str | None = None
    topic_browsing: str | None = None
    topic_profile: str | None = None
    topic_recommendation: str | None = None
    topic_approved: str | None = None
    topic_suppressed: str | None = None
    topic_deadletter: str | None = None
    # The state changelog (default: "<app_id>-customer-state-changelog", faust's name).
    topic_changelog: str | None = None
    # create: create missing topics (dev, demo); verify: never create or change a topic, only
    # check that every one exists, is co-partitioned and the changelog compacted.
    topics: Literal["create", "verify"] = "create"
    partitions: int = Field(8, ge=1, le=10_000)
    replication_factor: int = Field(1, ge=1)
    # min.insync.replicas of the topics it creates (None: the broker's default). With
    # replication factor 3, set 2: an acknowledged write survives the loss of one broker.
    min_insync_replicas: int | None = Field(None, ge=1)
    app_id: str = "personalization-guardrail"
    policy: Path | None = None
    store: str = "rocksdb://"
    data_dir: Path = Path("var/worker")
    schema_registry_url: str | None = None
    metrics_port: int = Field(9108, ge=0, le=65535)
    # guardrail ingest: the mapping file, and its consumer group (default "<app_id>-ingest")
    ingest_mapping: Path | None = None
    ingest_group: str | None = None
    # Address /metrics, /livez and /readyz listen on: loopback by default; 0.0.0.0 in a
    # container, where the pod network is the boundary.
    metrics_bind: str = "127.0.0.1"
    log_format: Literal["text", "json"] = "text"
    # How often the customers and consumer-lag gauges are refreshed, in seconds.
    gauge_interval_s: float = Field(10.0, gt=0, le=3600)
    # faust's own web server (its table endpoints would serve any customer's state): off by
    # default; when on, it binds 127.0.0.1 only and serves none of faust's data endpoints.
    web_enabled: bool = False
    web_port: int = Field(6066, ge=1, le=65535)
    # The event-time hold (guardrail.pipeline.hold): 0 turns it off; otherwise a partition
    # that has held an event this long says so in the log (events wait as long as a topic
    # they wait for is behind or unreachable: an outage delays decisions, never changes them).
    max_hold_ms: int = Field(2000, ge=0)
    # Records produced this close together may be written in either order across topics
    # (producers' linger.ms, several producers' clocks): keep it above the linger.ms of the
    # producers writing the input topics.
    hold_grace_ms: int = Field(20, ge=0, le=60_000)
    # Decoded customer states the worker keeps beside their stored bytes, as MiB of those
    # bytes (a customer seen again soon is not decoded again; decoded, a state takes several
    # times its bytes: 2 MiB hold ~3,000 typical states in ~20-40 MB); 0 turns it off.
    state_memo_mb: float = Field(2.0, ge=0, le=1024)
    max_value_bytes: int = Field(1_048_576, ge=1)
    # Event-time sanity limits against the wall clock, 0 = off. A ts more than a day ahead is
    # a clock or unit bug (dead letter ``ts_out_of_range``). No past limit by default: replays
    # of old data (the golden files, a backfill) must decide, not be dead-lettered.
    max_future_ms: int = Field(86_400_000, ge=0)
    max_past_ms: int = Field(0, ge=0)
    # A ts below this (epoch ms; default 1973-03-03) is a time in seconds, not milliseconds:
    # dead-lettered as ts_out_of_range. 0 = off.
    min_ts_ms: int = Field(100_000_000_000, ge=0)
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_check_hostname: bool = True
    # faust processing_guarantee="exactly_once" (Kafka transactions); see docs/reliability.md.
    exactly_once: bool = False
    # How long a silent worker (crashed, SIGKILLed) keeps its partitions before the group
    # rebalances them to the others; faust's default. Heartbeats go every 3 s.
    session_timeout_s: float = Field(60.0, ge=6, le=3600)
    # Erasure bound: records of a customer before their erasure leave the state changelog
    # within about max.compaction.lag.ms + segment.ms (topic settings of the changelog; set
    # when the worker creates it, and on an existing one where the ACLs allow).
    changelog_max_compaction_lag_ms: int = Field(86_400_000, ge=1)
    changelog_segment_ms: int = Field(3_600_000, ge=1)
    # RocksDB memory per partition store: memtable size (two of them) and block cache. faust's
    # defaults (3 x 64 MB memtables, 2 GB cache) let RSS climb for a long time under steady
    # writes (docs/reliability.md, soak).
    rocksdb_write_buffer_mb: int = Field(8, ge=1, le=1024)
    rocksdb_block_cache_mb: int = Field(16, ge=1, le=65536)

    # Which runtime runs the worker: faust (the default) or confluent (confluent-kafka with
    # transactions: exactly once; docs/architecture.md).
    runtime: Literal["faust", "confluent"] = "faust"
    # confluent runtime: a checkpoint (one Kafka transaction with the decisions, the changed
    # states and the input offsets) every checkpoint_records records or checkpoint_ms, which
    # comes first; checkpoint_busy_ms instead of checkpoint_ms while the worker is behind
    # (its last poll found a full batch waiting). Read-committed consumers see decisions only
    # once their checkpoint commits: checkpoint_ms bounds a caught-up worker's latency.
    checkpoint_records: int = Field(5000, ge=1, le=1_000_000)
    checkpoint_ms: int = Field(20, ge=1, le=60_000)
    checkpoint_busy_ms: int = Field(100, ge=1, le=60_000)
    # confluent runtime: how long an open transaction of a dead worker may block readers
    # before the broker aborts it (a restarted instance aborts its own at once); also how long
    # a checkpoint may wait out a broker that is away before it is aborted and redone.
    transaction_timeout_ms: int = Field(60_000, ge=1000, le=900_000)
    # confluent runtime: names this instance's transactional id (stable across restarts);
    # default: derived from the host and data_dir (random with the memory store).
    instance_id: str | None = None

    @field_validator("store")
    @classmethod
    def _store(cls, value: str) -> str:
        if not value.startswith(("rocksdb://", "memory://")):
            raise ValueError("store must be rocksdb:// or memory://")
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not set(value) <= TOPIC_CHARS:
            raise ValueError("topic prefix may hold only letters, digits, '.', '_' and '-'")
        return value

    @field_validator(*(f"topic_{name}" for name in (*INPUT_TOPICS, *OUTPUT_TOPICS, "changelog")))
    @classmethod
    def _topic_name(cls, value: str | None) -> str | None:
        if value is not None and (not value or len(value) > 249 or not set(value) <= TOPIC_CHARS):
            raise ValueError("a topic name is 1-249 letters, digits, '.', '_' or '-'")
        return value

    @field_validator("ssl_cafile", "ssl_certfile", "ssl_keyfile")
    @classmethod
    def _tls_file(cls, value: Path | None) -> Path | None:
        """A TLS file that is missing, unreadable or not PEM is one clear line at start, not
        a traceback (or a "broker transport failure") later."""
        if value is None:
            return value
        try:
            head = value.read_bytes()[: 1 << 20]
        except FileNotFoundError:
            raise ValueError(f"no such file: {value}") from None
        except OSError as exc:
            raise ValueError(f"cannot read {value}: {exc.strerror}") from None
        if b"-----BEGIN " not in head:
            raise ValueError(f"{value} is not a PEM file (no -----BEGIN line)")
        return value

    def topic(self, logical: str) -> str:
        """The full topic name of a logical topic (``purchase`` ... ``deadletter``)."""
        name = INPUT_TOPICS.get(logical) or OUTPUT_TOPICS[logical]
        own: str | None = getattr(self, f"topic_{logical}")
        return own if own is not None else self.topic_prefix + name

    def input_topics(self) -> dict[str, str]:
        return {kind: self.topic(kind) for kind in INPUT_TOPICS}

    def output_topics(self) -> dict[str, str]:
        return {kind: self.topic(kind) for kind in OUTPUT_TOPICS}

    @property
    def changelog_topic(self) -> str:
        if self.topic_changelog is not None:
            return self.topic_changelog
        return f"{self.app_id}-customer-state-changelog"

    def secrets(self) -> list[str]:
        """Secret values the log filter masks wherever they appear."""
        secrets = [self.sasl_password.get_secret_value()] if self.sasl_password else []
        url = urlsplit(self.schema_registry_url or "")
        return [*secrets, *([url.password] if url.password else [])]

    def shown(self) -> dict[str, str]:
        """Every effective setting as ``GUARDRAIL_*`` -> text, secrets masked."""
        shown: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                text = MASK if value.get_secret_value() else ""
            elif value is None:
                text = ""
            elif name.endswith("_url"):
                text = mask_url(str(value))
            else:
                text = str(value)
            shown[ENV_PREFIX + name.upper()] = text
        return shown

    def confluent_config(self) -> dict[str, Any]:
        """librdkafka settings for our confluent-kafka clients (admin, replay, audit)."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            # librdkafka's log through Python logging (masked, rate-limited: guardrail.logs)
            **librdkafka_config(),
        }
        if self.security_protocol.startswith("SASL"):
            config["sasl.mechanism"] = self.sasl_mechanism
            if self.sasl_username is not None:
                config["sasl.username"] = self.sasl_username
            if self.sasl_password is not None:
                config["sasl.password"] = self.sasl_password.get_secret_value()
        if self.security_protocol.endswith("SSL"):
            if self.ssl_cafile:
                config["ssl.ca.location"] = str(self.ssl_cafile)
            if self.ssl_certfile:
                config["ssl.certificate.location"] = str(self.ssl_certfile)
            if self.ssl_keyfile:
                config["ssl.key.location"] = str(self.ssl_keyfile)
            if not self.ssl_check_hostname:
                config["ssl.endpoint.identification.algorithm"] = "none"
        return config


def mask_url(url: str) -> str:
    """``url`` with any password in it masked (``https://user:****@host``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:{MASK}@{parts.hostname}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def setting_names() -> list[str]:
    """Every settings variable, ``GUARDRAIL_BOOTSTRAP_SERVERS`` ..."""
    return [ENV_PREFIX + name.upper() for name in Settings.model_fields]


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One message per ``GUARDRAIL_*`` variable in ``environ`` that nothing reads."""
    valid = setting_names()
    messages = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in OTHER_VARIABLES:
            continue
        if name in valid or name.startswith(OTHER_PREFIXES):
            continue
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        messages.append(f"unknown setting {name}{hint}")
    return messages


def describe_errors(exc: ValidationError) -> str:
    """One line naming each bad variable (and its flag) and the problem, not the value."""
    parts = []
    for problem in problems(exc):
        field = str(problem.loc[0]) if problem.loc else ""
        flag = "--" + field.replace("_", "-")
        where = f"{ENV_PREFIX}{field.upper()} ({flag})" if field else "settings"
        parts.append(f"{where}: {problem.message.removeprefix('Value error, ')}")
    return "; ".join(parts)


def load_settings(*, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``GUARDRAIL_*`` variables with the non-None ``overrides`` on top.

    Raises :class:`ConfigError` for an unknown ``GUARDRAIL_*`` variable (naming the closest
    valid one) or a bad value (naming the variable and its flag, never the value).
    """
    environ = os.environ if environ is None else environ
    unknown = unknown_variables(environ)
    if unknown:
        raise ConfigError("bad settings: " + "; ".join(unknown))
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise ConfigError(f"bad settings: {describe_errors(exc)}") from None
