"""Erasure on the real runtime: after ``erase: true`` the customer's state is gone from the
table, the changelog holds a tombstone before the small erased marker, and a worker restarted
with a fresh data dir (state rebuilt from the changelog) remembers nothing of them, while a
customer who was not erased is remembered as before."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from guardrail.config import Settings
from guardrail.core.records import Decision
from guardrail.core.state import EMPTY_PROFILE, state_from_json
from guardrail.devstack.kafka import LocalKafka
from guardrail.worker.process import WorkerProcess
from kafka_helpers import produce, read_topic, wait_decisions, worker_settings

pytestmark = pytest.mark.integration

MINUTE = 60_000
T = int(time.time() * 1000) - 6 * 60 * MINUTE  # event time: six hours ago, counting up
ERASED, KEPT = "c-erase-me", "c-keep-me"
NAMES = {ERASED: "Zelda", KEPT: "Quentin"}
LAPTOP = {"sku": "LAP-1", "category": "electronics/laptops"}
BOOK = {"sku": "BOOK-1", "category": "books/fiction"}


def signals(customer: str, t: int) -> list[tuple[str, dict[str, Any]]]:
    tag = uuid.uuid4().hex[:6]
    return [
        ("profile", {"event_id": f"p-{tag}", "customer_id": customer, "ts": t,
                     "first_name": NAMES[customer], "timezone": "Europe/Berlin"}),
        ("purchase", {"event_id": f"o-{tag}", "customer_id": customer, "ts": t + MINUTE,
                      "order_id": f"order-{tag}", "items": [{**LAPTOP, "quantity": 1,
                                                             "price": 999.0}]}),
        ("browsing", {"event_id": f"b-{tag}", "customer_id": customer, "ts": t + 2 * MINUTE,
                      "action": "search", "query": "ergonomic keyboard"}),
    ]  # fmt: skip


def rec(customer: str, rec_id: str, t: int) -> tuple[str, dict[str, Any]]:
    """A laptop (bought: already_purchased drops it) and a book, with a merge-tag greeting."""
    return "recommendation", {
        "rec_id": rec_id, "customer_id": customer, "ts": t, "channel": "email",
        "trigger": "batch", "items": [LAPTOP, BOOK], "title": None,
        "body": "Hi [First Name], picks for you.", "data_sources": [],
    }  # fmt: skip


def send(settings: Settings, events: list[tuple[str, dict[str, Any]]]) -> None:
    produce(
        settings,
        [
            (settings.topic(kind), doc["customer_id"].encode(), json.dumps(doc).encode())
            for kind, doc in events
        ],
    )


def greeting(decision: Decision) -> str:
    assert decision.recommendation is not None, decision
    return decision.recommendation.body.split(",")[0]


def codes(decision: Decision) -> set[str]:
    return {r.code for r in decision.reasons}


def test_erasure_forgets_the_customer_in_the_table_the_changelog_and_after_restart(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    settings = worker_settings(kafka_broker, tmp_path / "first", runtime=runtime)
    with WorkerProcess(settings, tmp_path / "worker-1.log").start():
        send(settings, [*signals(ERASED, T), *signals(KEPT, T)])
        send(settings, [rec(ERASED, "before-erase", T + 10 * MINUTE),
                        rec(KEPT, "kept-before", T + 10 * MINUTE)])  # fmt: skip
        send(settings, [("profile", {"event_id": "erase-1", "customer_id": ERASED,
                                     "ts": T + 20 * MINUTE, "erase": True})])  # fmt: skip
        send(settings, [rec(ERASED, "after-erase", T + 30 * MINUTE)])
        got = wait_decisions(settings, ["before-erase", "kept-before", "after-erase"])

    # Before: the state was there (the laptop was bought, the name is known).
    before = got["before-erase"]
    assert "already_purchased" in codes(before)
    assert greeting(before) == "Hi Zelda"
    # After the erasure, the same worker has forgotten it.
    after = got["after-erase"]
    assert "already_purchased" not in codes(after)
    assert greeting(after) == "Hello"
    assert [i.sku for i in after.recommendation.items] == ["LAP-1", "BOOK-1"]  # type: ignore[union-attr]

    # The changelog: a tombstone for the customer's key, then only the small erased marker.
    changelog = read_topic(settings, settings.changelog_topic)
    values = [m.value() for m in changelog if m.key() == ERASED.encode()]
    assert None in values, "no tombstone for the erased customer"
    tombstone = values.index(None)
    assert any(b"Zelda" in v for v in values[:tombstone] if v), "state before erasure expected"
    marker = values[tombstone + 1]
    assert marker is not None and len(marker) < 200
    state = state_from_json(marker)
    assert state.erased and state.profile == EMPTY_PROFILE and not state.purchases
    for value in values[tombstone + 1 :]:  # later states are built from nothing
        assert value is not None and b"Zelda" not in value
        later = state_from_json(value)
        assert not later.purchases and not later.bought and later.profile == EMPTY_PROFILE

    # A restarted worker with a fresh data dir rebuilds the table from the changelog.
    restarted = settings.model_copy(update={"data_dir": tmp_path / "second"})
    with WorkerProcess(restarted, tmp_path / "worker-2.log").start():
        send(restarted, [rec(ERASED, "erased-after-restart", T + 40 * MINUTE),
                         rec(KEPT, "kept-after-restart", T + 40 * MINUTE)])  # fmt: skip
        got = wait_decisions(restarted, ["erased-after-restart", "kept-after-restart"])
    erased = got["erased-after-restart"]
    assert "already_purchased" not in codes(erased)
    assert greeting(erased) == "Hello"
    # The customer who was not erased is remembered: the restart did restore state.
    kept = got["kept-after-restart"]
    assert "already_purchased" in codes(kept)
    assert greeting(kept) == "Hi Quentin"
