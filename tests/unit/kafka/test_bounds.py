"""Output records bounded by construction: the decision header without the recommendation
(and put back by every reader), dead-letter values cut with their size and hash."""

from __future__ import annotations

import hashlib

from factories import decide_last, rec
from guardrail.config import DECISION_HEADER
from guardrail.kafka import serde
from guardrail.kafka.bounds import (
    DEAD_LETTER_VALUE_BYTES,
    bounded_dead_letter_value,
    decision_from_output,
    decision_header,
)
from guardrail.kafka.replay import decision_of


def test_the_header_does_not_repeat_a_large_recommendation_and_readers_put_it_back() -> None:
    decision = decide_last([rec(body="New books. " * 80_000, title=None)])
    assert decision.recommendation is not None
    value = serde.encode_json(decision.recommendation)
    header = decision_header(decision)
    assert len(value) > 800_000 and len(header) < 1_000
    headers = [(DECISION_HEADER, header)]
    assert decision_from_output("approved", value, headers) == decision
    assert decision_of("approved", value, headers) == decision


def test_the_header_is_the_decision_with_its_recommendation_null() -> None:
    # The bytes readers (and `guardrail audit`, which compares them) have always seen.
    decision = decide_last([rec(title="Hi {first_name}")])
    expected = serde.encode_json(decision.model_copy(update={"recommendation": None}))
    assert decision_header(decision) == expected
    assert b'"recommendation":null' in expected


def test_an_older_full_header_is_read_as_it_is() -> None:
    decision = decide_last([rec()])
    value = serde.encode_json(decision.recommendation)  # type: ignore[arg-type]
    full = [(DECISION_HEADER, serde.encode_json(decision))]
    assert decision_from_output("approved", value, full) == decision


def test_a_small_dead_letter_value_is_kept_whole() -> None:
    assert bounded_dead_letter_value(b"abc", "not_json_or_avro: x") == (
        b"abc",
        "not_json_or_avro: x",
    )
    assert bounded_dead_letter_value(None, "empty: y") == (None, "empty: y")


def test_a_large_dead_letter_value_keeps_a_prefix_with_its_size_and_hash() -> None:
    big = bytes(range(256)) * 4_000  # 1,024,000 bytes
    kept, error = bounded_dead_letter_value(big, "oversized: too long")
    assert kept == big[:DEAD_LETTER_VALUE_BYTES]
    assert error.startswith("oversized: too long (value of 1024000 bytes, sha256 ")
    assert hashlib.sha256(big).hexdigest() in error
