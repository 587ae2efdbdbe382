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
from confluent_kafka.cimpl import NewTopic

from guardrail.config import Settings
from guardrail.errors import TopicError

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


def partition_counts(
    admin: AdminClient, settings: Settings, timeout: float = 15.0
) -> dict[str, int]:
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        error = exc.args[0]
        reason = error.str() if hasattr(error, "str") else str(error)
        raise TopicError(
            f"cannot reach Kafka at {settings.bootstrap_servers} "
            f"(GUARDRAIL_BOOTSTRAP_SERVERS): {reason.removeprefix('Failed to get metadata: ')}"
        ) from None
    return {name: len(topic.partitions) for name, topic in metadata.topics.items()}


def ensure_topics(settings: Settings, timeout: float = 30.0) -> int:
    """Create what is missing (or only verify); return the partition count every topic shares.

    Existing topics that disagree are an error (repartition them or choose other names); when
    the existing ones agree on a count that differs from ``settings.partitions``, theirs wins
    and a warning says so.
    """
    admin = AdminClient(settings.confluent_config())
    if settings.topics == "verify":
        return verify_topics(settings, admin)
    counts = partition_counts(admin, settings)
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
        _create(admin, settings, missing, partitions, timeout)
        log.info("created %d topics with %d partitions", len(missing), partitions)
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
) -> None:
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
                **({"cleanup.policy": "compact"} if name == settings.changelog_topic else {}),
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


def verify_topics(settings: Settings, admin: AdminClient, timeout: float = 15.0) -> int:
    """Check, never create: every topic exists, all share one partition count, the changelog
    is compacted (and faust's leader topic exists). One :class:`TopicError` names every
    problem."""
    counts = partition_counts(admin, settings, timeout)
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
