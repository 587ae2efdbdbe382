"""One word for one thing: the record kinds name the input topics everywhere."""

from __future__ import annotations

from guardrail.config import INPUT_TOPICS, OUTPUT_TOPICS, Settings
from guardrail.core.records import EVENT_MODELS, EVENT_TYPES
from guardrail.kafka.serde import KINDS
from guardrail.metrics.metric_set import TOPICS, logical_topic


def test_settings_metrics_records_and_serde_use_the_same_kind_names() -> None:
    assert tuple(INPUT_TOPICS) == EVENT_TYPES == tuple(EVENT_MODELS) == tuple(TOPICS)
    assert set(KINDS) == {*EVENT_TYPES, "decision", "deadletter"}


def test_every_prefixed_topic_maps_back_to_its_kind_for_the_metrics() -> None:
    settings = Settings(topic_prefix="acme.")
    for kind, topic in settings.input_topics().items():
        assert settings.topic(kind) == topic
        assert logical_topic(topic) == kind
    assert set(settings.output_topics()) == set(OUTPUT_TOPICS)
