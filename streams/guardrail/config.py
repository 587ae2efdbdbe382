"""Worker settings: environment variables (``GUARDRAIL_*``) overridden by command-line flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from guardrail.core.validation import one_line
from guardrail.errors import ConfigError

# Logical topic -> default name (docs/contract.md). A prefix is prepended to every one.
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

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class Settings(BaseSettings):
    """Everything a worker, a replay or the demo needs to reach Kafka and decide."""

    model_config = SettingsConfigDict(env_prefix="GUARDRAIL_", frozen=True, extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    partitions: int = Field(8, ge=1, le=10_000)
    replication_factor: int = Field(1, ge=1)
    app_id: str = "personalization-guardrail"
    policy: Path | None = None
    store: str = "rocksdb://"
    data_dir: Path = Path("var/worker")
    schema_registry_url: str | None = None
    metrics_port: int = Field(9108, ge=0, le=65535)
    # How often the customers and consumer-lag gauges are refreshed, in seconds.
    gauge_interval_s: float = Field(10.0, gt=0, le=3600)
    web_port: int = Field(6066, ge=1, le=65535)
    max_hold_ms: int = Field(2000, ge=0)
    max_value_bytes: int = Field(1_048_576, ge=1)
    # Event-time sanity limits against the wall clock, 0 = off. A ts more than a day ahead is
    # a clock or unit bug (dead letter ``ts_out_of_range``). No past limit by default: replays
    # of old data (the golden files, a backfill) must decide, not be dead-lettered.
    max_future_ms: int = Field(86_400_000, ge=0)
    max_past_ms: int = Field(0, ge=0)
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
    # comes first. Read-committed consumers see decisions only once their checkpoint commits.
    checkpoint_records: int = Field(5000, ge=1, le=1_000_000)
    checkpoint_ms: int = Field(100, ge=1, le=60_000)
    # confluent runtime: how long an open transaction of a dead worker may block readers
    # before the broker aborts it (a restarted instance aborts its own at once).
    transaction_timeout_ms: int = Field(10_000, ge=1000, le=900_000)
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
        allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        if not set(value) <= allowed:
            raise ValueError("topic prefix may hold only letters, digits, '.', '_' and '-'")
        return value

    def topic(self, logical: str) -> str:
        """The full topic name of a logical topic (``purchase`` ... ``deadletter``)."""
        name = INPUT_TOPICS.get(logical) or OUTPUT_TOPICS[logical]
        return self.topic_prefix + name

    def input_topics(self) -> dict[str, str]:
        return {kind: self.topic_prefix + name for kind, name in INPUT_TOPICS.items()}

    def output_topics(self) -> dict[str, str]:
        return {kind: self.topic_prefix + name for kind, name in OUTPUT_TOPICS.items()}

    @property
    def changelog_topic(self) -> str:
        return f"{self.app_id}-customer-state-changelog"

    def confluent_config(self) -> dict[str, Any]:
        """librdkafka settings for our confluent-kafka clients (admin, replay, audit)."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
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


def load_settings(**overrides: Any) -> Settings:
    """Settings from GUARDRAIL_* variables with the non-None ``overrides`` on top.

    Raises :class:`ConfigError` naming every bad setting (never its value).
    """
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(f"bad settings: {one_line(exc, root='settings')}") from None
