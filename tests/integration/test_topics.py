"""Topics the brand owns: verify mode never creates a topic, and stops with one message naming
every problem (missing, not co-partitioned, changelog not compacted); with topics in order a
worker runs and decides without creating any. Every topic name can be set on its own."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from guardrail.config import Settings
from guardrail.devstack.kafka import LocalKafka
from guardrail.kafka.replay import replay_to_kafka
from guardrail.kafka.topics import TopicError, all_topics, ensure_topics, leader_topic
from guardrail.worker.process import WorkerProcess
from kafka_helpers import worker_settings
from metrics_helpers import GOLDEN

pytestmark = pytest.mark.integration


def brand_settings(broker: LocalKafka, tmp_path: Path, **extra: object) -> Settings:
    """A brand's own names: no common prefix, each topic set on its own, verify mode."""
    tag = uuid.uuid4().hex[:6]
    names = {
        "topic_purchase": f"shop{tag}.orders-contract",
        "topic_location": f"geo{tag}.visits",
        "topic_browsing": f"web{tag}.clicks",
        "topic_profile": f"crm{tag}.profiles",
        "topic_recommendation": f"reco{tag}.proposed",
        "topic_approved": f"reco{tag}.approved",
        "topic_suppressed": f"reco{tag}.suppressed",
        "topic_deadletter": f"ops{tag}.guardrail-dlq",
        "topic_changelog": f"ops{tag}.guardrail-state",
    }
    return worker_settings(broker, tmp_path, topics="verify", **names, **extra)


def create(settings: Settings, names: list[str], partitions: int, **config: str) -> None:
    admin = AdminClient(settings.confluent_config())
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=partitions, replication_factor=1, config=config) for n in names]
    )
    for future in futures.values():
        future.result(30)
    deadline = time.monotonic() + 30
    while not set(names) <= existing(settings):  # metadata catches up a moment later
        assert time.monotonic() < deadline, f"topics not visible: {names}"
        time.sleep(0.2)


def existing(settings: Settings) -> set[str]:
    """Every topic but the broker's own (``__consumer_offsets`` comes with the first group)."""
    topics = AdminClient(settings.confluent_config()).list_topics(timeout=15).topics
    return {name for name in topics if not name.startswith("__")}


def test_verify_mode_creates_nothing_and_names_every_missing_topic(
    kafka_broker: LocalKafka, tmp_path: Path
) -> None:
    settings = brand_settings(kafka_broker, tmp_path)
    create(settings, [settings.topic("purchase")], 2)
    before = existing(settings)
    with pytest.raises(TopicError) as err:
        ensure_topics(settings)
    message = str(err.value)
    assert message.startswith("GUARDRAIL_TOPICS=verify: missing ")
    for name in [*all_topics(settings), leader_topic(settings)]:
        assert (name in message) == (name != settings.topic("purchase")), name
    assert "\n" not in message
    assert existing(settings) == before, "verify mode created a topic"


def test_verify_mode_refuses_topics_that_are_not_co_partitioned_or_a_changelog_not_compacted(
    kafka_broker: LocalKafka, tmp_path: Path
) -> None:
    settings = brand_settings(kafka_broker, tmp_path)
    others = [n for n in all_topics(settings) if n not in (settings.changelog_topic,)]
    create(settings, others[:-1], 2)
    create(settings, [others[-1]], 3)
    create(settings, [settings.changelog_topic], 2, **{"cleanup.policy": "delete"})
    create(settings, [leader_topic(settings)], 1)
    with pytest.raises(TopicError) as err:
        ensure_topics(settings)
    message = str(err.value)
    assert "missing" not in message
    assert "not co-partitioned (one partition count for all): " in message
    assert f"{others[-1]}=3" in message
    assert f"{settings.changelog_topic} has cleanup.policy=delete; it must be compact" in message


def test_a_worker_in_verify_mode_decides_on_the_brands_topics_and_creates_none(
    kafka_broker: LocalKafka, tmp_path: Path
) -> None:
    settings = brand_settings(kafka_broker, tmp_path / "data")
    create(settings, [n for n in all_topics(settings) if n != settings.changelog_topic], 2)
    create(settings, [settings.changelog_topic], 2, **{"cleanup.policy": "compact"})
    create(settings, [leader_topic(settings)], 1)
    before = existing(settings)
    assert ensure_topics(settings) == 2
    lines = (GOLDEN / "consent.events.jsonl").read_text().splitlines()
    with WorkerProcess(settings, tmp_path / "worker.log").start():
        result = replay_to_kafka(lines, settings, timeout_s=120)
    assert result.decisions and not result.rejected
    assert existing(settings) == before, "the worker created a topic in verify mode"


def test_the_unreachable_broker_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    settings = Settings(bootstrap_servers="127.0.0.1:1", data_dir=tmp_path)
    with pytest.raises(TopicError) as err:
        ensure_topics(settings)
    assert str(err.value).startswith(
        "cannot reach Kafka at 127.0.0.1:1 (GUARDRAIL_BOOTSTRAP_SERVERS): "
    )
