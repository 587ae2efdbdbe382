"""The record path without a broker: decode, dead letters, hold, decide, state, outputs, acks.

The pipeline runs over in-process implementations of its interfaces (``pipeline_kit``): a
dict store, a list of sent records, a list of acknowledged offsets and a clock that moves
when the test says.
"""

from __future__ import annotations

import json
import logging

import pytest
from pipeline_kit import SETTINGS, START, Kit

from factories import NOON, T0, hours, profile, purchase, rec
from guardrail.config import DECISION_HEADER
from guardrail.core.state import state_from_json
from guardrail.kafka import serde
from guardrail.pipeline import Held, InputRecord, Pipeline, RetryLater
from guardrail.pipeline.partitioning import partition_for

LAPTOP = (("SKU-LAPTOP", "electronics/laptops"),)
RECS = "recommendations.proposed"
PURCHASES = "customer.purchases"
C1 = partition_for(b"c-1", 8)  # the partition of the tests' customer c-1


def test_a_recommendation_on_a_caught_up_partition_is_approved_with_its_decision_header() -> None:
    kit = Kit()
    recommendation = rec(rec_id="r-1")
    kit.feed(recommendation)
    [out] = kit.sent.records
    assert (out.kind, out.topic, out.key) == ("approved", "recommendations.approved", b"c-1")
    assert serde.decode_json("recommendation", out.value).rec_id == "r-1"  # type: ignore[attr-defined]
    decision = json.loads(out.headers[DECISION_HEADER])  # type: ignore[index]
    assert (decision["rec_id"], decision["action"]) == ("r-1", "deliver")
    assert kit.acked.offsets == [(RECS, 0)]
    assert kit.sample("guardrail_decisions_total", action="deliver", channel="email") == 1


def test_a_purchase_then_a_recommendation_of_the_bought_item_is_suppressed() -> None:
    kit = Kit()
    kit.feed(purchase(ts=T0, items=LAPTOP), rec(ts=T0 + hours(1), items=LAPTOP))
    [out] = kit.sent.records
    assert (out.kind, out.topic, out.headers) == ("suppressed", "recommendations.suppressed", {})
    decision = serde.decode_json("decision", out.value)
    assert [r.code for r in decision.reasons] == ["already_purchased"]  # type: ignore[attr-defined]
    state = state_from_json(kit.store.data[(C1, b"c-1")])
    assert state is not None
    assert kit.acked.offsets == [(PURCHASES, 0), (RECS, 0)]


def test_an_earlier_purchase_read_after_the_recommendation_still_suppresses_it() -> None:
    """The hold: the purchases topic is behind, so the recommendation waits for it."""
    kit = Kit()
    kit.fetch.behind = {PURCHASES}
    kit.feed(rec(ts=T0 + hours(1), items=LAPTOP))
    assert kit.sent.records == [] and kit.acked.offsets == []
    assert kit.pipeline.held() == 1
    kit.feed(purchase(ts=T0, items=LAPTOP))  # read past the recommendation's time? no: earlier
    assert kit.sent.records == []
    kit.fetch.behind = set()  # the purchases topic is caught up now
    assert kit.release() == 2
    assert kit.sent.kinds() == ["suppressed"]
    assert sorted(kit.acked.offsets) == [(PURCHASES, 0), (RECS, 0)]


def test_a_later_event_of_the_customer_on_the_lagging_topic_releases_the_held_one() -> None:
    kit = Kit()
    kit.fetch.behind = {PURCHASES}
    kit.feed(rec(ts=T0 + hours(1), items=LAPTOP))
    kit.feed(purchase(ts=T0 + hours(2), items=LAPTOP))  # the topic moved past the rec's time
    assert kit.sent.kinds() == ["approved"]  # decided before the (later) purchase
    assert kit.pipeline.held() == 1  # the purchase itself waits for later events or a timeout


def test_a_held_event_waits_as_long_as_a_topic_is_behind_and_the_log_says_which(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No timeout: an outage or a lagging topic delays the decision, never changes it."""
    kit = Kit()
    kit.fetch.behind = {PURCHASES}
    kit.feed(rec())
    with caplog.at_level(logging.WARNING):
        for seconds in (1.0, 2.0, 60.0, 3600.0):
            kit.clock.now = START + seconds
            assert kit.release() == 0
    assert kit.sent.records == []
    assert any(f"waits for {PURCHASES} (behind or unreachable)" in m for m in caplog.messages)
    assert "c-1" not in caplog.text  # the customer is not named
    kit.fetch.behind = set()
    assert kit.release() == 1
    assert kit.sent.kinds() == ["approved"]


def test_max_hold_ms_0_turns_the_hold_off() -> None:
    kit = Kit(settings=SETTINGS.model_copy(update={"max_hold_ms": 0}))
    kit.fetch.behind = {PURCHASES}
    kit.feed(rec())
    assert kit.sent.kinds() == ["approved"]


@pytest.mark.parametrize(
    ("record_kwargs", "error_kind"),
    [
        ({"value": b"not json"}, "not_json_or_avro"),
        ({"value": b""}, "empty"),
        ({"key": b"someone-else"}, "key_mismatch"),
    ],
)
def test_a_bad_record_is_dead_lettered_with_where_it_came_from(
    record_kwargs: dict[str, bytes], error_kind: str
) -> None:
    kit = Kit()
    record = kit.record(rec(), **record_kwargs)
    kit.feed(record)
    [out] = kit.sent.records
    assert (out.kind, out.topic, out.key) == ("deadletter", "guardrail.deadletter", record.key)
    letter = serde.decode_json("deadletter", out.value)
    assert (letter.source_topic, letter.partition, letter.offset) == (RECS, C1, 0)  # type: ignore[attr-defined]
    assert letter.value == record.value  # type: ignore[attr-defined]
    assert letter.error.startswith(error_kind)  # type: ignore[attr-defined]
    assert letter.ts == int(START * 1000)  # type: ignore[attr-defined]
    assert kit.acked.offsets == [(RECS, 0)]
    topic = "recommendation"
    assert kit.sample("guardrail_dead_letters_total", topic=topic, error_kind=error_kind) == 1


def test_an_event_time_a_day_ahead_of_the_wall_clock_is_dead_lettered() -> None:
    kit = Kit()
    ahead = int(START * 1000) + 86_400_000 + 1
    kit.feed(rec(ts=ahead))
    assert kit.sent.kinds() == ["deadletter"]
    letter = serde.decode_json("deadletter", kit.sent.records[0].value)
    assert letter.error.startswith("ts_out_of_range: ts")  # type: ignore[attr-defined]
    kit.feed(rec(ts=ahead - 2))
    assert kit.sent.kinds() == ["deadletter", "approved"]


def test_a_dead_letter_behind_a_held_record_is_acknowledged_only_after_it() -> None:
    kit = Kit()
    kit.fetch.behind = {PURCHASES}
    held = kit.record(rec())
    kit.feed(held, kit.record(rec(), value=b"{"))
    assert kit.sent.kinds() == ["deadletter"]
    assert kit.acked.offsets == []  # offset 0 is held: committing 1 would lose it
    assert kit.acked.finished_offsets == [(RECS, 1)]  # finished, in any order
    kit.fetch.behind = set()  # the topics caught up
    kit.release()
    assert kit.acked.offsets == [(RECS, 0), (RECS, 1)]
    assert kit.acked.finished_offsets == [(RECS, 1), (RECS, 0)]


def test_a_redelivered_recommendation_gets_the_same_decision_and_counts_as_a_duplicate() -> None:
    kit = Kit()
    first = rec(rec_id="r-9")
    kit.feed(first)
    kit.feed(kit.record(first))  # read again (a redelivery: the same record, a later offset)
    one, two = kit.sent.records
    assert (one.value, one.headers) == (two.value, two.headers)
    assert kit.sample("guardrail_decisions_total", action="deliver", channel="email") == 1
    assert kit.sample("guardrail_events_total", topic="recommendation", outcome="duplicate") == 1


def test_an_erasure_commits_first_then_leaves_a_tombstone_and_nothing_of_the_customer() -> None:
    kit = Kit()
    kit.feed(purchase(ts=T0, items=LAPTOP))
    assert (C1, b"c-1") in kit.store.data
    kit.feed(profile(ts=T0 + hours(1), erase=True))
    assert kit.commits == [1]  # after the purchase was acknowledged, before the erasure
    assert kit.store.erased == [b"c-1"]
    # Nor in the decoded-state memo: only what the store holds now (the erasure's marker).
    memo = kit.pipeline.handler.memo._entries
    assert [data for (_, key), (data, _) in memo.items() if key == b"c-1"] == [
        kit.store.data[(C1, b"c-1")]
    ]
    kit.feed(rec(ts=T0 + hours(2), items=LAPTOP))
    assert kit.sent.kinds() == ["suppressed"]  # erased: no personalization consent any more


def test_a_record_on_another_partition_than_its_key_belongs_on_is_dead_lettered() -> None:
    kit = Kit()
    record = kit.record(rec())
    record.partition = (record.partition + 1) % kit.settings.partitions
    kit.feed(record)
    [out] = kit.sent.records
    letter = serde.decode_json("deadletter", out.value)
    assert letter.error.startswith("wrong_partition: the key belongs on partition")  # type: ignore[attr-defined]
    assert (
        kit.sample(
            "guardrail_dead_letters_total", topic="recommendation", error_kind="wrong_partition"
        )
        == 1
    )


def test_a_time_in_seconds_is_dead_lettered_as_out_of_range() -> None:
    kit = Kit()
    kit.feed(rec(ts=1_767_225_600))  # 2026-01-01 in seconds
    letter = serde.decode_json("deadletter", kit.sent.records[0].value)
    assert "a time in seconds" in letter.error  # type: ignore[attr-defined]


def test_only_an_erasure_asks_for_a_commit_first() -> None:
    record = InputRecord(PURCHASES, 0, 0, b"c-1", b"")
    assert Held(record, profile(erase=True)).commit_first
    assert not Held(record, profile(first_name="Ana")).commit_first
    assert not Held(record, purchase()).commit_first


def test_a_signal_writes_state_and_sends_nothing() -> None:
    kit = Kit()
    kit.feed(purchase(ts=T0))
    assert kit.sent.records == []
    assert kit.acked.offsets == [(PURCHASES, 0)]
    assert kit.sample("guardrail_events_total", topic="purchase", outcome="signal") == 1


class FailingEngine:
    """An engine with a bug (the pipeline takes any object with `decide`)."""

    def decide(self, state: object, event: object) -> tuple[object, object]:
        raise ValueError("a bug")


def test_an_engine_failure_dead_letters_the_record_and_the_stream_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    kit = Kit()
    kit.pipeline.handler.engine = FailingEngine()  # type: ignore[assignment]
    with caplog.at_level(logging.ERROR):
        kit.feed(rec(body="Dear Ana"))
    [out] = kit.sent.records
    letter = serde.decode_json("deadletter", out.value)
    assert letter.error == "internal_error: ValueError('a bug')"  # type: ignore[attr-defined]
    assert kit.acked.offsets == [(RECS, 0)]
    assert "Ana" not in caplog.text and "ValueError" in caplog.text


class RegistryDownFor:
    """A codec whose schema registry is unavailable for the first ``n`` decodes."""

    def __init__(self, n: int) -> None:
        self.left = n
        self.codec = serde.Codec()

    def decode(self, kind: str, value: bytes | None) -> object:
        if self.left:
            self.left -= 1
            raise serde.DecodeError("registry_unavailable", "connection refused")
        return self.codec.decode(kind, value)

    def encode(self, kind: str, record: object, topic: str) -> bytes:
        return self.codec.encode(kind, record, topic)  # type: ignore[arg-type]


def test_an_unavailable_registry_asks_to_read_again_later_with_growing_pauses() -> None:
    kit = Kit(codec=RegistryDownFor(3))
    record = kit.record(rec())
    delays = []
    for attempt in range(3):
        with pytest.raises(RetryLater) as retry:
            kit.pipeline.read(record, attempt)
        delays.append(retry.value.delay_s)
    assert delays == [1.0, 2.0, 4.0]
    assert kit.pipeline.read(record, 3) is None  # decoded and held (caught up: releasable)
    assert len(kit.pipeline.release(C1)) == 1


def test_a_registry_down_through_every_attempt_dead_letters_the_record() -> None:
    kit = Kit(codec=RegistryDownFor(100))
    record = kit.record(rec())
    letter = kit.pipeline.read(record, attempt=9)
    assert letter is not None and letter.kind == "deadletter"


def test_forgetting_drops_held_records_unacknowledged_and_they_can_be_read_again() -> None:
    kit = Kit()
    kit.fetch.behind = {PURCHASES}
    recommendation = rec()
    kit.feed(recommendation)
    kit.pipeline.forget()  # a rebalance
    assert kit.pipeline.held() == 0 and kit.acked.offsets == []
    kit.fetch.behind = set()
    kit.offsets.clear()
    kit.feed(recommendation)  # read again from the committed offset
    assert kit.sent.kinds() == ["approved"]
    assert kit.acked.offsets == [(RECS, 0)]


def test_signals_go_before_a_recommendation_of_the_same_time() -> None:
    kit = Kit()
    kit.fetch.behind = {PURCHASES, RECS}
    kit.feed(rec(ts=NOON, items=LAPTOP), purchase(ts=NOON, items=LAPTOP))
    kit.fetch.behind = set()  # the topics caught up
    kit.release()
    assert kit.sent.kinds() == ["suppressed"]


def test_the_pipeline_is_built_from_settings() -> None:
    kit = Kit()
    assert isinstance(kit.pipeline, Pipeline)
    assert kit.pipeline.max_hold_s == 2.0
    assert kit.pipeline.limits.max_future_ms == 86_400_000


def test_a_skipped_record_is_acknowledged_in_its_offset_order_without_a_decision() -> None:
    kit = Kit()
    kit.fetch.behind = {PURCHASES}
    kit.feed(rec())
    done_before = kit.record(rec())  # decided in a committed transaction already
    kit.pipeline.skip(done_before)
    assert kit.sent.records == [] and kit.acked.offsets == []
    kit.fetch.behind = set()  # the topics caught up
    kit.release()
    assert kit.acked.offsets == [(RECS, 0), (RECS, 1)]
    assert kit.sent.kinds() == ["approved"]


def test_forgetting_some_partitions_keeps_the_others() -> None:
    kit = Kit()
    kit.fetch.behind = {PURCHASES}
    mine, theirs = kit.record(rec(customer="c-1")), kit.record(rec(customer="c-2"))
    assert mine.partition != theirs.partition
    kit.feed(mine, theirs)
    assert sorted(kit.pipeline.holding()) == sorted([mine.partition, theirs.partition])
    kit.pipeline.forget([theirs.partition])
    assert kit.pipeline.holding() == [mine.partition]
    assert kit.pipeline.last_read(RECS, theirs.partition) is None
    kit.fetch.behind = set()  # the topics caught up
    assert kit.release() == 1
    assert kit.acked.offsets == [(RECS, 0)]
