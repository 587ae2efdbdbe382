"""guardrail.kafka.serde: round trips through Avro (fastavro and the avro package) and JSON, the
Confluent wire format without a registry, schema resolution, and every decode error kind."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import avro.io
import avro.schema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from guardrail.core.records import (
    CHANNELS,
    TRIGGERS,
    Browsing,
    Consent,
    DeadLetter,
    Decision,
    Guardrail,
    Location,
    Profile,
    Purchase,
    PurchaseItem,
    Reason,
    RecItem,
    Recommendation,
)
from guardrail.kafka import serde

TS = 1_700_000_000_000

REC = Recommendation(
    rec_id="r-1",
    customer_id="c-42",
    ts=TS,
    channel="push",
    campaign_id="spring",
    trigger="browse",
    items=(RecItem(sku="SKU-1", category="electronics/laptops"),),
    title="Hi Zoë 👋",
    body="Because you bought a laptop: bags.",
    data_sources=("purchase_history", "browsing"),
    based_on=("e-1", "e-2"),
    life_event="moving",
    deliver_after=TS + 1_800_000,
    guardrail=Guardrail(action="rewrite", reasons=("too_soon",), policy_version="p1"),
)

SAMPLES: dict[str, list[BaseModel]] = {
    "purchase": [
        Purchase(
            event_id="e-1",
            customer_id="c-42",
            ts=TS,
            order_id="o-1",
            items=(
                PurchaseItem(sku="SKU-1", category="electronics/laptops", quantity=2, price=9.5),
                PurchaseItem(sku="SKU-2", category="grocery/coffee"),
            ),
            gift=True,
        ),
        Purchase(event_id="e-0", customer_id="c", ts=0, order_id="o", items=()),
    ],
    "location": [
        Location(
            event_id="e-2",
            customer_id="c-42",
            ts=TS,
            lat=-33.5,
            lon=151.25,
            accuracy_m=12.5,
            place_id="p-9",
            place_name="Café Ñandú",
        ),
        Location(event_id="e-3", customer_id="c-42", ts=TS, lat=90, lon=-180),
    ],
    "browsing": [
        Browsing(event_id="e-4", customer_id="c", ts=TS, action="search", query="pregnancy test"),
        Browsing(event_id="e-5", customer_id="c", ts=TS, action="view", sku="S", category="a/b"),
    ],
    "profile": [
        Profile(
            event_id="e-6",
            customer_id="c",
            ts=TS,
            first_name="Ana",
            timezone="Europe/Paris",
            consent=Consent(personalization=False, sensitive_categories=("health", "religion")),
            # Two-element tuples inside nullable arrays: fastavro's tuple notation must be off.
            channel_opt_outs=("email", "sms"),
            declared_life_events=("moving", "new_baby"),
            erase=True,
        ),
        Profile(event_id="e-7", customer_id="c", ts=TS, channel_opt_outs=()),
    ],
    "recommendation": [
        REC,
        Recommendation(
            rec_id="r-2", customer_id="c", ts=TS, channel="ad", trigger="batch", body=""
        ),
    ],
    "decision": [
        Decision(
            rec_id="r-1",
            customer_id="c-42",
            ts=TS,
            action="rewrite",
            reasons=(
                Reason(code="too_soon", detail="browsed 3 min ago"),
                Reason(code="frequency_cap", detail="3 in 24 h", shadow=True),
            ),
            policy_version="p1",
            explanation="Because you bought a laptop",
            recommendation=REC,
        ),
        Decision(
            rec_id="r-3", customer_id="c", ts=TS, action="suppress", reasons=(), policy_version="p"
        ),
    ],
    "deadletter": [
        DeadLetter(
            source_topic="customer.purchases",
            partition=3,
            offset=2**40,
            key=b"c-42",
            value=b"\x00\xff\xfe not utf-8",
            error="not_json_or_avro: junk",
            ts=TS,
        ),
        DeadLetter(source_topic="t", partition=0, offset=0, error="empty: no value", ts=TS),
    ],
}
CASES = [(kind, record) for kind, records in SAMPLES.items() for record in records]
IDS = [f"{kind}-{i}" for kind, records in SAMPLES.items() for i in range(len(records))]


def test_samples_cover_every_kind() -> None:
    assert set(SAMPLES) == set(serde.KINDS)


# -- round trips


@pytest.mark.parametrize(("kind", "record"), CASES, ids=IDS)
def test_fastavro_round_trip(kind: str, record: BaseModel) -> None:
    assert serde.kind_of(record) == kind
    assert serde.decode_avro(kind, serde.encode_avro(record)) == record


@pytest.mark.parametrize(("kind", "record"), CASES, ids=IDS)
def test_avro_package_round_trip_and_same_bytes(kind: str, record: BaseModel) -> None:
    schema = avro.schema.parse(serde.schema_text(kind))
    buf = io.BytesIO()
    avro.io.DatumWriter(schema).write(serde.to_avro(record), avro.io.BinaryEncoder(buf))
    assert buf.getvalue() == serde.encode_avro(record)
    read: Any = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(buf.getvalue())))
    assert serde.from_avro(kind, read) == record


@pytest.mark.parametrize(("kind", "record"), CASES, ids=IDS)
def test_json_round_trip(kind: str, record: BaseModel) -> None:
    assert serde.decode_json(kind, serde.encode_json(record)) == record
    assert serde.Codec().decode(kind, serde.encode_json(record)) == record


@pytest.mark.parametrize(("kind", "record"), CASES, ids=IDS)
def test_wire_format_round_trip_with_known_id(kind: str, record: BaseModel) -> None:
    codec = serde.Codec()
    codec.remember_schema(77, kind)
    value = serde.encode_wire(77, record)
    assert value[:5] == b"\x00\x00\x00\x00\x4d"
    assert codec.decode(kind, value) == record


def test_deadletter_bytes_are_base64_in_json() -> None:
    letter = SAMPLES["deadletter"][0]
    data = json.loads(serde.encode_json(letter))
    assert data["key"] == base64.b64encode(b"c-42").decode()
    assert base64.b64decode(data["value"]) == b"\x00\xff\xfe not utf-8"
    assert json.loads(serde.encode_json(SAMPLES["deadletter"][1]))["key"] is None


def test_json_ignores_extra_fields_like_the_replay_type() -> None:
    data = json.loads(serde.encode_json(REC)) | {"type": "recommendation", "future": [1]}
    assert serde.decode_json("recommendation", json.dumps(data).encode()) == REC


def test_encode_without_registry_is_json_and_checks_the_kind() -> None:
    codec = serde.Codec()
    assert codec.encode("recommendation", REC, "recommendations.approved") == serde.encode_json(REC)
    assert codec.decoder("recommendation")(serde.encode_json(REC)) == REC
    with pytest.raises(TypeError):
        codec.encode("decision", REC, "recommendations.suppressed")
    with pytest.raises(serde.EncodeError) as err:
        codec.register("recommendation", "recommendations.approved")
    assert err.value.error_kind == "registry_unavailable"


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown record kind"):
        serde.Codec().decode("order", b"{}")
    assert serde.subject_for("customer.purchases") == "customer.purchases-value"


# -- schema resolution: older and newer writers


def writer_variant(kind: str, edit: Any) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(serde.schema_text(kind))
    edit(schema)
    return schema


def field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def test_older_writer_without_a_defaulted_field_reads_the_default() -> None:
    import fastavro

    def drop_gift(schema: dict[str, Any]) -> None:
        schema["fields"] = [f for f in schema["fields"] if f["name"] != "gift"]

    old = writer_variant("purchase", drop_gift)
    buf = io.BytesIO()
    purchase = SAMPLES["purchase"][0]
    fastavro.schemaless_writer(buf, fastavro.parse_schema(old), serde.to_avro(purchase))
    codec = serde.Codec()
    codec.remember_schema(5, json.dumps(old))
    decoded = codec.decode("purchase", b"\x00\x00\x00\x00\x05" + buf.getvalue())
    assert decoded == purchase.model_copy(update={"gift": False})


def newer_writer(
    kind: str, enum_field: str, symbol: str, datum: dict[str, Any]
) -> tuple[serde.Codec, bytes]:
    """A codec knowing a newer writer schema (id 9) with ``symbol`` added, and a value."""
    import fastavro

    def add_symbol(schema: dict[str, Any]) -> None:
        type_ = field(schema, enum_field)["type"]
        enum = type_["items"] if type_["type"] == "array" else type_
        enum["symbols"].append(symbol)

    new = writer_variant(kind, add_symbol)
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(new), datum)
    codec = serde.Codec()
    codec.remember_schema(9, json.dumps(new))
    return codec, serde.encode_wire(9, REC)[:5] + buf.getvalue()


def test_unknown_data_source_reads_as_the_strict_default_third_party() -> None:
    datum = serde.to_avro(REC) | {"data_sources": ["purchase_history", "partner_crm"]}
    codec, value = newer_writer("recommendation", "data_sources", "partner_crm", datum)
    decoded = codec.decode("recommendation", value)
    assert isinstance(decoded, Recommendation)
    assert decoded.data_sources == ("purchase_history", "third_party")


def test_unknown_channel_from_a_newer_writer_is_bad_enum() -> None:
    datum = serde.to_avro(REC) | {"channel": "whatsapp"}
    codec, value = newer_writer("recommendation", "channel", "whatsapp", datum)
    with pytest.raises(serde.DecodeError) as err:
        codec.decode("recommendation", value)
    assert err.value.error_kind == "bad_enum"


# -- decode errors


def kind_of_error(kind: str, value: bytes | None, codec: serde.Codec | None = None) -> str:
    with pytest.raises(serde.DecodeError) as err:
        (codec or serde.Codec()).decode(kind, value)
    assert err.value.message and str(err.value).startswith(err.value.error_kind + ": ")
    return err.value.error_kind


def rec_json(**changes: Any) -> bytes:
    data = json.loads(serde.encode_json(REC)) | changes
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


@pytest.mark.parametrize(
    ("name", "value", "error_kind"),
    [
        ("random bytes", b"\x93\x11\xfe\x00garbage", "not_json_or_avro"),
        ("not json text", b"hello", "not_json_or_avro"),
        ("json cut short", rec_json()[:-10], "not_json_or_avro"),
        ("json list", b"[1, 2]", "invalid_record"),
        ("json string", b'"recommendation"', "invalid_record"),
        ("json number", b"42", "invalid_record"),
        ("missing field", rec_json(body=...), "missing_field"),
        ("unknown enum value", rec_json(channel="fax"), "bad_enum"),
        ("unknown enum in array", rec_json(data_sources=["gossip"]), "bad_enum"),
        ("wrong type", rec_json(ts="yesterday"), "invalid_record"),
        ("ts in microseconds", rec_json(ts=TS * 1000), "invalid_record"),
        ("tombstone", None, "empty"),
        ("zero bytes", b"", "empty"),
        ("oversized", b" " * (serde.DEFAULT_MAX_VALUE_BYTES + 1), "oversized"),
        ("wire header cut short", b"\x00\x00\x01", "not_json_or_avro"),
        (
            "unknown schema id",
            b"\x00\x00\x00\x30\x39" + serde.encode_avro(REC),
            "unknown_schema_id",
        ),
    ],
)
def test_decode_error_kind(name: str, value: bytes | None, error_kind: str) -> None:
    assert kind_of_error("recommendation", value) == error_kind, name


def test_oversized_follows_the_codec_setting() -> None:
    value = serde.encode_json(REC)
    assert kind_of_error("recommendation", value, serde.Codec(max_value_bytes=100)) == "oversized"
    assert serde.Codec(max_value_bytes=len(value)).decode("recommendation", value) == REC


def known_codec() -> serde.Codec:
    codec = serde.Codec()
    for schema_id, kind in enumerate(serde.KINDS, start=1):
        codec.remember_schema(schema_id, kind)
    return codec


def test_wire_format_errors() -> None:
    codec = known_codec()
    rec_id = list(serde.KINDS).index("recommendation") + 1
    full = serde.encode_wire(rec_id, REC)
    assert kind_of_error("recommendation", full[:-3], codec) == "not_json_or_avro"  # truncated
    assert kind_of_error("recommendation", full + b"\x00", codec) == "not_json_or_avro"  # extra
    location = serde.encode_wire(list(serde.KINDS).index("location") + 1, SAMPLES["location"][0])
    assert kind_of_error("recommendation", location, codec) == "schema_mismatch"
    invalid = serde.encode_wire(rec_id, REC.model_copy(update={"ts": -5}))
    assert kind_of_error("recommendation", invalid, codec) == "invalid_record"
    assert kind_of_error("recommendation", b"\x00\x00\x00\x00\x63" + full[5:]) == (
        "unknown_schema_id"
    )


def test_decode_avro_errors() -> None:
    body = serde.encode_avro(REC)
    with pytest.raises(serde.DecodeError) as err:
        serde.decode_avro("recommendation", body[: len(body) // 2])
    assert err.value.error_kind == "not_json_or_avro"


@given(st.binary(max_size=300), st.sampled_from(sorted(serde.KINDS)))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_give_a_record_or_a_decode_error(value: bytes, kind: str) -> None:
    codec = known_codec()
    for candidate in (value, b"\x00" + value, b"\x00\x00\x00\x00\x05" + value):
        try:
            record = codec.decode(kind, candidate)
        except serde.DecodeError as exc:
            assert exc.error_kind in serde.ERROR_KINDS
        else:
            assert isinstance(record, serde.KINDS[kind])


# -- generated records round-trip both ways

texts = st.text(max_size=12)
recommendations = st.builds(
    Recommendation,
    rec_id=texts,
    customer_id=texts,
    ts=st.integers(0, 7_258_118_400_000),
    channel=st.sampled_from(CHANNELS),
    campaign_id=st.none() | texts,
    trigger=st.sampled_from(TRIGGERS),
    items=st.lists(st.builds(RecItem, sku=texts, category=texts), max_size=3).map(tuple),
    title=st.none() | texts,
    body=texts,
    data_sources=st.lists(st.sampled_from(["browsing", "location", "social"]), max_size=3).map(
        tuple
    ),
    based_on=st.lists(texts, max_size=3).map(tuple),
    life_event=st.none() | texts,
    deliver_after=st.none() | st.integers(0, 7_258_118_400_000),
    guardrail=st.none()
    | st.builds(
        Guardrail,
        action=st.sampled_from(["deliver", "rewrite", "suppress"]),
        reasons=st.lists(texts, max_size=2).map(tuple),
        policy_version=texts,
        explanation=st.none() | texts,
    ),
)


@given(recommendations)
@settings(max_examples=150, deadline=None)
def test_generated_recommendations_round_trip(rec: Recommendation) -> None:
    assert serde.decode_avro("recommendation", serde.encode_avro(rec)) == rec
    assert serde.decode_json("recommendation", serde.encode_json(rec)) == rec
    decision = Decision(
        rec_id=rec.rec_id,
        customer_id=rec.customer_id,
        ts=rec.ts,
        action="deliver",
        reasons=(),
        policy_version="p",
        recommendation=rec,
    )
    assert serde.decode_avro("decision", serde.encode_avro(decision)) == decision
