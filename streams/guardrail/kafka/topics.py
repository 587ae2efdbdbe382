"""The guardrail's topics: create what is missing, or (``GUARDRAIL_TOPICS=verify``) only check.

Every input and output topic and the state changelog must have the same partition count, so
that one worker owns all of a customer's events and state, and the changelog must be
compacted. On a brand's cluster where the guardrail may not create topics, verify mode checks
exactly that and stops with one message naming every problem.
"""

from __future__ import annotations

import logging

from confluent_kafka import KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    ResourceType,
)
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry
from confluent_kafka.cimpl import NewTopic

from guardrail.config import Settings
from guardrail.errors import TopicError
from guardrail.kafka.admin import CheckedAdmin

log = logging.getLogger(__name__)


def all_topics(settings: Settings) -> list[str]:
    """Every topic the guardrail reads or writes, the state changelog included."""
    return [
        *settings.input_topics().values(),
        *settings.output_topics().values(),
        settings.changelog_topic,
    ]


def leader_topic(settings: Settings) -> str:
    """faust's group-leader topic (one partition; it carries no records)."""
    return f"{settings.app_id}-__assignor-__leader"


def changelog_config(settings: Settings) -> dict[str, str]:
    """The state changelog's topic settings: compacted, and compacted within a bound.

    Without ``max.compaction.lag.ms`` a customer's records before an erasure stay readable
    until the cleaner happens to run (in practice the 7-day segment time); with it, and a
    segment time that lets the active segment roll, they are gone within about
    ``max.compaction.lag.ms + segment.ms`` (docs/reliability.md).
    """
    return {
        "cleanup.policy": "compact",
        "max.compaction.lag.ms": str(settings.changelog_max_compaction_lag_ms),
        "segment.ms": str(settings.changelog_segment_ms),
    }


def partition_counts(
    admin: AdminClient | CheckedAdmin, settings: Settings, timeout: float = 15.0
) -> dict[str, int]:
    client = admin.client if isinstance(admin, CheckedAdmin) else admin
    try:
        metadata = client.list_topics(timeout=timeout)
    except KafkaException as exc:
        if isinstance(admin, CheckedAdmin):  # a refused login or TLS handshake says so
            admin.raise_cause()
        error = exc.args[0]
        reason = error.str() if hasattr(error, "str") else str(error)
        raise TopicError(
            f"cannot reach Kafka at {settings.bootstrap_servers} "
            f"(GUARDRAIL_BOOTSTRAP_SERVERS): {reason.removeprefix('Failed to get metadata: ')}"
        ) from None
    return {name: len(topic.partitions) for name, topic in metadata.topics.items()}


def align_changelog(admin: AdminClient, settings: Settings, timeout: float = 30.0) -> None:
    """Give an existing changelog the compaction bound of :func:`changelog_config`.

    A changelog created before the bound existed (or by faust) keeps its old settings
    otherwise. Without the right to alter topic configs, a warning says what is missing.
    """
    wanted = changelog_config(settings)
    del wanted["cleanup.policy"]  # never changed on an existing topic
    resource = ConfigResource(ResourceType.TOPIC, settings.changelog_topic)
    try:
        current = admin.describe_configs([resource])[resource].result(timeout)
        if all(current[k].value == v for k, v in wanted.items() if k in current):
            return
        entries = [
            ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
            for k, v in wanted.items()
        ]
        change = ConfigResource(
            ResourceType.TOPIC, settings.changelog_topic, incremental_configs=entries
        )
        admin.incremental_alter_configs([change])[change].result(timeout)
        log.info("changelog %s: set %s", settings.changelog_topic, wanted)
    except KafkaException as exc:
        log.warning(
            "cannot set %s on the changelog %s (%s): erased data may stay in it longer",
            ", ".join(wanted),
            settings.changelog_topic,
            exc.args[0].str() if exc.args else exc,
        )


def ensure_topics(settings: Settings, timeout: float = 30.0) -> int:
    """Create what is missing (or only verify); return the partition count every topic shares.

    Existing topics that disagree are an error (repartition them or choose other names); when
    the existing ones agree on a count that differs from ``settings.partitions``, theirs wins
    and a warning says so.
    """
    checked = CheckedAdmin(settings)
    admin = checked.client
    if settings.topics == "verify":
        return verify_topics(settings, admin, checked=checked)
    counts = partition_counts(checked, settings)
    wanted = all_topics(settings)
    existing = {name: counts[name] for name in wanted if name in counts}
    partitions = _shared_count(existing) or settings.partitions
    if existing and partitions != settings.partitions:
        log.warning(
            "existing topics have %d partitions; using that instead of the configured %d",
            partitions,
            settings.partitions,
        )
    missing = [name for name in wanted if name not in existing]
    if missing:
        existing.update(_create(admin, settings, missing, partitions, timeout))
        log.info("created %d topics with %d partitions", len(missing), partitions)
    if settings.changelog_topic in existing:
        align_changelog(admin, settings, timeout)
    return partitions


def _shared_count(existing: dict[str, int]) -> int | None:
    distinct = set(existing.values())
    if len(distinct) > 1:
        listing = ", ".join(f"{name}={n}" for name, n in sorted(existing.items()))
        raise TopicError(
            "topics are not co-partitioned (every guardrail topic needs the same partition "
            f"count): {listing}"
        )
    return distinct.pop() if distinct else None


def _create(
    admin: AdminClient, settings: Settings, names: list[str], partitions: int, timeout: float
) -> dict[str, int]:
    """Create ``names``; returns those someone else created meanwhile (name -> partitions)."""
    already: dict[str, int] = {}
    common = {}
    if settings.min_insync_replicas is not None:
        common["min.insync.replicas"] = str(settings.min_insync_replicas)
    new = [
        NewTopic(
            name,
            num_partitions=partitions,
            replication_factor=settings.replication_factor,
            config={
                **common,
                **(changelog_config(settings) if name == settings.changelog_topic else {}),
            },
        )
        for name in names
    ]
    for name, future in admin.create_topics(new, operation_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            error = exc.args[0]
            if error.name() != "TOPIC_ALREADY_EXISTS":
                raise TopicError(f"cannot create topic {name}: {error.str()}") from None
            already[name] = partitions
    return already


def verify_topics(
    settings: Settings,
    admin: AdminClient,
    timeout: float = 15.0,
    checked: CheckedAdmin | None = None,
) -> int:
    """Check, never create: every topic exists, all share one partition count, the changelog
    is compacted (and faust's leader topic exists). One :class:`TopicError` names every
    problem."""
    counts = partition_counts(checked or admin, settings, timeout)
    wanted = all_topics(settings)
    problems = []
    missing = [name for name in [*wanted, leader_topic(settings)] if name not in counts]
    if missing:
        problems.append("missing " + ", ".join(missing))
    existing = {name: counts[name] for name in wanted if name in counts}
    if len(set(existing.values())) > 1:
        listing = ", ".join(f"{name}={n}" for name, n in sorted(existing.items()))
        problems.append(f"not co-partitioned (one partition count for all): {listing}")
    if settings.changelog_topic in counts:
        policy = _cleanup_policy(admin, settings.changelog_topic, timeout)
        if policy is not None and "compact" not in policy:
            problems.append(
                f"{settings.changelog_topic} has cleanup.policy={policy}; it must be compact"
            )
    if problems:
        raise TopicError(
            "GUARDRAIL_TOPICS=verify: " + "; ".join(problems) + " (docs/integration.md lists "
            "the topics to create and their settings)"
        )
    return next(iter(existing.values()))


def _cleanup_policy(admin: AdminClient, topic: str, timeout: float) -> str | None:
    """The topic's cleanup.policy, or None when the ACLs do not allow reading it."""
    resource = ConfigResource(ResourceType.TOPIC, topic)
    try:
        (future,) = admin.describe_configs([resource]).values()
        entries = future.result(timeout=timeout)
    except KafkaException as exc:
        log.warning("cannot read %s's configuration (%s): compaction not checked", topic, exc)
        return None
    entry = entries.get("cleanup.policy")
    return entry.value if entry is not None else None
