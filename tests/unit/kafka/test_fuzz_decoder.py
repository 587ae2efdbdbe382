"""Fuzz the worker's path: ``Codec.decode`` and, for what decodes, ``Engine.decide``.

More than 10,000 generated records in all: valid generated events mutated as JSON text, as
parsed JSON (fields dropped, retyped, set to odd values), as Confluent wire-format Avro (bytes
flipped, cut, spliced, schema ids changed), and plain random bytes. Every input must be
accounted for: either rejected with a ``DecodeError`` whose kind is one the metrics know, or
decoded into the right record and decided on without an error, with a decision for exactly
the recommendations, a state that survives its changelog round trip, and a decision the worker
can encode. Anything else raised is a crash, and fails the test.

Batches keep it fast: each Hypothesis example throws a batch of records (the mutations come
from a seeded ``random.Random``, so a failing example names its seed).
"""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrail.core.engine import Engine
from guardrail.core.policy import default_policy
from guardrail.core.records import EVENT_MODELS, Decision, Event
from guardrail.core.state import EMPTY_STATE, CustomerState, state_from_json, state_to_json
from guardrail.generate.stream import GeneratorConfig, generate_records
from guardrail.kafka import serde
from guardrail.metrics.metric_set import ERROR_KINDS

KINDS = tuple(EVENT_MODELS)
SCHEMA_IDS = {kind: 100 + i for i, kind in enumerate(KINDS)}
MAX_VALUE_BYTES = 64 * 1024
TALLY: Counter[str] = Counter()
FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ODD_VALUES: tuple[Any, ...] = (
    None, True, 0, -1, 2**63, -(2**70), 1.5, float("inf"), "", " ", "x" * 3000, "\x00",
    "Europe/Nowhere", "fax", "[First Name]", [], [None], [{}], {}, {"sku": 1}, ["a", "b"],
    1_767_225_600, 7_258_118_400_001, "1767225600000", "🦄", "electronics/laptops",
)  # fmt: skip


@cache
def seeds() -> tuple[tuple[str, Event], ...]:
    return tuple(generate_records(GeneratorConfig(events=400, customers=15, seed=11)))


@cache
def engine() -> Engine:
    return Engine(default_policy())


@cache
def codec() -> serde.Codec:
    c = serde.Codec(max_value_bytes=MAX_VALUE_BYTES)
    for kind, schema_id in SCHEMA_IDS.items():
        c.remember_schema(schema_id, kind)
    return c


@cache
def histories() -> dict[str, CustomerState]:
    """Each seed customer's state after the whole seed stream: records meet a real history."""
    states: dict[str, CustomerState] = {}
    for _, event in seeds():
        state = states.get(event.customer_id, EMPTY_STATE)
        states[event.customer_id], _ = engine().decide(state, event)
    return states


def throw(kind: str, value: bytes | None) -> None:
    """One record through decode and decide; every outcome is counted in ``TALLY``."""
    try:
        record = codec().decode(kind, value)
    except serde.DecodeError as exc:
        assert exc.error_kind in ERROR_KINDS, exc
        assert not exc.transient  # no registry here: nothing can be "unavailable"
        TALLY[f"rejected:{exc.error_kind}"] += 1
        return
    assert isinstance(record, EVENT_MODELS[kind])
    event: Event = record  # type: ignore[assignment]
    state = histories().get(event.customer_id, EMPTY_STATE)
    new_state, decision = engine().decide(state, event)
    assert state_from_json(state_to_json(new_state)) == new_state
    if kind == "recommendation":
        assert isinstance(decision, Decision)
        assert decision.rec_id == event.rec_id  # type: ignore[union-attr]
        serde.encode_json(decision)
        serde.encode_avro(decision)  # what the worker sends, with a registry
        if decision.recommendation is not None:
            serde.encode_avro(decision.recommendation)
        TALLY["decided"] += 1
    else:
        assert decision is None
        TALLY["signal"] += 1


# -- mutations ----------------------------------------------------------------------------


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        at = rng.randrange(len(buf) + 1)
        if op == 0 and buf:  # flip one byte
            buf[min(at, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:  # cut
            del buf[at:]
        elif op == 2:  # insert random bytes
            buf[at:at] = rng.randbytes(rng.randint(1, 8))
        elif op == 3:  # delete a run
            del buf[at : at + rng.randint(1, 16)]
        elif op == 4:  # duplicate a run (repeats a field, a length, an element)
            buf[at:at] = buf[at : at + rng.randint(1, 32)]
        elif buf:  # swap two bytes
            other = rng.randrange(len(buf))
            at = min(at, len(buf) - 1)
            buf[at], buf[other] = buf[other], buf[at]
    return bytes(buf)


def mutate_doc(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    for _ in range(rng.randint(1, 3)):
        target: Any = doc
        # Sometimes go one level down, into an item or the consent.
        nested = [v for v in doc.values() if isinstance(v, dict)]
        nested += [
            v[0] for v in doc.values() if isinstance(v, list) and v and isinstance(v[0], dict)
        ]
        if nested and rng.random() < 0.3:
            target = rng.choice(nested)
        if not target:
            continue
        name = rng.choice(sorted(target))
        op = rng.randrange(3)
        if op == 0:
            del target[name]
        elif op == 1:
            target[name] = copy.deepcopy(rng.choice(ODD_VALUES))
        else:
            target[rng.choice(("extra", "guardrail", "erase", "gift"))] = copy.deepcopy(
                rng.choice(ODD_VALUES)
            )
    return doc


def wire(kind: str, record: Event, schema_id: int | None = None) -> bytes:
    return serde.encode_wire(schema_id or SCHEMA_IDS[kind], record)


def mutated(kind: str, record: Event, rng: random.Random) -> tuple[str, bytes]:
    """One mutation of a valid record, as the kind it is read as and the bytes."""
    style = rng.randrange(5)
    if style == 0:  # JSON text, bytes mangled
        return kind, mutate_bytes(serde.encode_json(record), rng)
    if style == 1:  # JSON, fields mangled
        doc = mutate_doc(json.loads(serde.encode_json(record)), rng)
        return kind, json.dumps(doc, allow_nan=True).encode()
    if style == 2:  # wire-format Avro, body mangled (the header left alone)
        data = wire(kind, record)
        return kind, data[:5] + mutate_bytes(data[5:], rng)
    if style == 3:  # wire format read as another kind, or with another schema id
        other = rng.choice(KINDS)
        schema_id = rng.choice((SCHEMA_IDS[other], rng.randrange(2**32)))
        return rng.choice((kind, other)), wire(kind, record, schema_id)
    return kind, mutate_bytes(wire(kind, record), rng)  # the header may break too


# -- the tests ----------------------------------------------------------------------------


@settings(FUZZ, max_examples=160)
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_valid_records_are_decided_or_rejected_with_a_known_kind(seed: int) -> None:
    rng = random.Random(seed)
    pool = seeds()
    for _ in range(40):
        kind, record = rng.choice(pool)
        read_as, data = mutated(kind, record, rng)
        throw(read_as, data)


@settings(FUZZ, max_examples=100)
@given(
    kind=st.sampled_from(KINDS),
    values=st.lists(st.binary(max_size=300), min_size=25, max_size=25),
    header=st.sampled_from((b"", b"\x00", b"{", b"\x00\x00\x00\x00\x64", b"\x00\x00\x00\x00\x68")),
)
def test_random_bytes_are_rejected_with_a_known_kind(
    kind: str, values: list[bytes], header: bytes
) -> None:
    for value in values:
        throw(kind, header + value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


@settings(FUZZ, max_examples=100)
@given(
    index=st.integers(0, 399),
    edits=st.lists(st.tuples(st.integers(0, 40), json_values), min_size=20, max_size=20),
)
def test_any_json_value_in_any_field_is_decided_or_rejected(
    index: int, edits: list[tuple[int, Any]]
) -> None:
    kind, record = seeds()[index % len(seeds())]
    doc = json.loads(serde.encode_json(record))
    names = sorted(doc)
    for position, value in edits:
        changed = dict(doc)
        changed[names[position % len(names)]] = value
        throw(kind, json.dumps(changed, allow_nan=True).encode())


@settings(FUZZ, max_examples=50)
@given(st.data())
def test_valid_records_in_every_encoding_are_decided(data: st.DataObject) -> None:
    for _ in range(10):
        kind, record = data.draw(st.sampled_from(seeds()))
        throw(kind, serde.encode_json(record))
        throw(kind, wire(kind, record))
    assert TALLY["decided"] + TALLY["signal"] > 0


@pytest.mark.parametrize("timezone", ["America", "x" * 3000, "Mars/Base", "../etc", "UTC\x00"])
def test_a_timezone_the_zone_database_cannot_open_is_an_unknown_iana_timezone(
    timezone: str,
) -> None:
    # Found by this fuzz test: ZoneInfo("America") raises IsADirectoryError, a long name
    # OSError; both escaped the validator and would have stopped the worker.
    profile = {"event_id": "e", "customer_id": "c", "ts": 1, "timezone": timezone}
    with pytest.raises(serde.DecodeError) as caught:
        codec().decode("profile", json.dumps(profile).encode())
    assert caught.value.error_kind == "invalid_record"
    assert "unknown IANA timezone" in caught.value.message


def test_at_least_10000_records_were_thrown() -> None:
    if not TALLY:  # run alone (-k): throw the records here rather than skip
        test_mutated_valid_records_are_decided_or_rejected_with_a_known_kind()
        test_random_bytes_are_rejected_with_a_known_kind()
        test_any_json_value_in_any_field_is_decided_or_rejected()
        test_valid_records_in_every_encoding_are_decided()
    total = sum(TALLY.values())
    assert total >= 10_000, TALLY
    rejected = {k for k in TALLY if k.startswith("rejected:")}
    assert TALLY["decided"] and TALLY["signal"] and len(rejected) >= 5, TALLY
    print(f"fuzz: {total} records, {dict(sorted(TALLY.items()))}")
