"""Create missing topics and refuse to run on topics that are not co-partitioned."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
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


def partition_counts(admin: AdminClient, timeout: float = 15.0) -> dict[str, int]:
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise TopicError(f"cannot reach Kafka to list topics: {exc.args[0]}") from None
    return {name: len(topic.partitions) for name, topic in metadata.topics.items()}


def ensure_topics(settings: Settings, timeout: float = 30.0) -> int:
    """Create what is missing; return the partition count every topic shares.

    Every input and output topic and the changelog must have the same partition count, so
    that one worker owns all of a customer's events and state. Existing topics that disagree
    are an error (repartition them or choose another prefix); when the existing ones agree on
    a count that differs from ``settings.partitions``, theirs wins and a warning says so.
    """
    admin = AdminClient(settings.confluent_config())
    counts = partition_counts(admin)
    wanted = all_topics(settings)
    existing = {name: counts[name] for name in wanted if name in counts}
    distinct = set(existing.values())
    if len(distinct) > 1:
        listing = ", ".join(f"{name}={n}" for name, n in sorted(existing.items()))
        raise TopicError(
            "topics are not co-partitioned (every guardrail topic needs the same partition "
            f"count): {listing}"
        )
    partitions = distinct.pop() if distinct else settings.partitions
    if existing and partitions != settings.partitions:
        log.warning(
            "existing topics have %d partitions; using that instead of the configured %d",
            partitions,
            settings.partitions,
        )
    missing = [name for name in wanted if name not in existing]
    if missing:
        new = [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=settings.replication_factor,
                config={"cleanup.policy": "compact"} if name == settings.changelog_topic else {},
            )
            for name in missing
        ]
        for name, future in admin.create_topics(new, operation_timeout=timeout).items():
            try:
                future.result(timeout=timeout)
            except KafkaException as exc:
                error = exc.args[0]
                if error.name() != "TOPIC_ALREADY_EXISTS":
                    raise TopicError(f"cannot create topic {name}: {error.str()}") from None
        log.info("created %d topics with %d partitions", len(missing), partitions)
    return partitions
