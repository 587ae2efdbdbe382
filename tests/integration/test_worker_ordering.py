"""Issue 3, point 7: events of one customer are applied in event-time order across topics.

Kafka orders nothing across topics, so a recommendation can be read before a signal of the
same customer with an earlier ``ts`` on another topic. The worker holds events briefly and
applies them in ``ts`` order (see ``guardrail.pipeline.hold``). Here the later-``ts`` event
is written to the broker first, while no worker runs, so a worker that applied records as they came
would decide the recommendation before it saw the signal.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from guardrail.config import Settings
from guardrail.core.records import Decision
from guardrail.devstack.kafka import LocalKafka
from guardrail.kafka.replay import decision_of
from guardrail.kafka.topics import ensure_topics
from helpers import (
    DAY_MS,
    T0,
    json_value,
    laptop_purchase,
    laptop_recommendation,
    produce_in_order,
    read_topic,
    running_worker,
    worker_settings,
)

pytestmark = pytest.mark.integration


def _opt_out(customer: str, ts: int) -> bytes:
    return json_value(
        {
            "event_id": f"opt-{customer}",
            "customer_id": customer,
            "ts": ts,
            "channel_opt_outs": ["email"],
        }
    )


def _decisions(settings: Settings, count: int) -> dict[str, Decision]:
    found: dict[str, Decision] = {}
    for kind in ("approved", "suppressed"):
        for message in read_topic(settings, settings.topic(kind)):
            decision = decision_of(kind, message.value(), message.headers())
            found[decision.rec_id] = decision
    assert len(found) == count, sorted(found)
    return found


def _wait_decisions(settings: Settings, count: int, timeout: float = 30.0) -> dict[str, Decision]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _decisions(settings, count)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_events_are_applied_in_event_time_order_across_topics(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    settings = worker_settings(kafka_broker, tmp_path, partitions=2, runtime=runtime)
    ensure_topics(settings)  # the worker is not running yet
    topics = settings.input_topics()
    day1, day2 = T0 + DAY_MS, T0 + 2 * DAY_MS
    produce_in_order(
        settings,
        [
            # A laptop recommendation first, then an earlier laptop purchase: suppressed.
            (
                topics["recommendation"],
                b"c-bought",
                json_value(laptop_recommendation("c-bought", day2, "r-bought")),
            ),
            (topics["purchase"], b"c-bought", json_value(laptop_purchase("c-bought", day1))),
            # An email opt-out from before the recommendation, written after it: suppressed.
            (
                topics["recommendation"],
                b"c-early",
                json_value(laptop_recommendation("c-early", day2, "r-early")),
            ),
            (topics["profile"], b"c-early", _opt_out("c-early", day1)),
            # An email opt-out from after the recommendation: it must not suppress it.
            (
                topics["recommendation"],
                b"c-later",
                json_value(laptop_recommendation("c-later", day1, "r-later")),
            ),
            (topics["profile"], b"c-later", _opt_out("c-later", day2)),
        ],
    )

    with running_worker(settings, tmp_path / "worker.log"):
        decisions = _wait_decisions(settings, 3)

        assert decisions["r-bought"].action == "suppress"
        assert [r.code for r in decisions["r-bought"].reasons] == ["already_purchased"]
        assert decisions["r-early"].action == "suppress"
        assert [r.code for r in decisions["r-early"].reasons] == ["channel_opt_out"]
        assert decisions["r-later"].action == "deliver"
        assert not decisions["r-later"].reasons

        # A late event (read after a later recommendation was already decided) does not
        # change that decision; it is applied when it comes and counts from then on.
        produce_in_order(
            settings,
            [
                (
                    topics["recommendation"],
                    b"c-late",
                    json_value(laptop_recommendation("c-late", day2, "r-late-1")),
                )
            ],
        )
        assert _wait_decisions(settings, 4)["r-late-1"].action == "deliver"
        produce_in_order(
            settings,
            [
                (topics["purchase"], b"c-late", json_value(laptop_purchase("c-late", day1))),
                (
                    topics["recommendation"],
                    b"c-late",
                    json_value(laptop_recommendation("c-late", day2 + DAY_MS, "r-late-2")),
                ),
            ],
        )
        after = _wait_decisions(settings, 5)
    assert after["r-late-1"].action == "deliver"
    assert after["r-late-2"].action == "suppress"
    assert [r.code for r in after["r-late-2"].reasons] == ["already_purchased"]
