"""guardrail.kafka.serde against a real schema registry (local Apicurio, Confluent API):
register every schema under <topic>-value, then round-trip every kind in the wire format."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import fastavro
import pytest

from guardrail.core.records import (
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
from guardrail.devstack.kafka import free_port
from guardrail.devstack.registry import LocalRegistry
from guardrail.kafka import serde

TS = 1_700_000_000_000
REC = Recommendation(
    rec_id="r-1",
    customer_id="c-1",
    ts=TS,
    channel="push",
    trigger="cart",
    items=(RecItem(sku="S-1", category="home/kitchen"),),
    title="Hi Ana",
    body="Pans.",
    data_sources=("browsing", "purchase_history"),
    based_on=("e-1", "e-2"),
    deliver_after=TS + 60_000,
    guardrail=Guardrail(action="rewrite", reasons=("too_soon",), policy_version="p1"),
)
SAMPLES: dict[str, tuple[Any, ...]] = {
    "purchase": (
        Purchase(
            event_id="e-1",
            customer_id="c-1",
            ts=TS,
            order_id="o-1",
            items=(PurchaseItem(sku="S-9", category="grocery/coffee", quantity=2, price=4.5),),
            gift=True,
        ),
    ),
    "location": (
        Location(event_id="e-2", customer_id="c-1", ts=TS, lat=48.85, lon=2.35, place_name="Café"),
    ),
    "browsing": (Browsing(event_id="e-3", customer_id="c-1", ts=TS, action="search", query="q"),),
    "profile": (
        Profile(
            event_id="e-4",
            customer_id="c-1",
            ts=TS,
            timezone="Europe/Paris",
            consent=Consent(sensitive_categories=("health",)),
            channel_opt_outs=("sms", "push"),
        ),
        Profile(event_id="e-5", customer_id="c-1", ts=TS, erase=True),
    ),
    "recommendation": (REC, REC.model_copy(update={"guardrail": None, "title": None})),
    "decision": (
        Decision(
            rec_id="r-1",
            customer_id="c-1",
            ts=TS,
            action="rewrite",
            reasons=(Reason(code="too_soon", detail="d", shadow=True),),
            policy_version="p1",
            recommendation=REC,
        ),
    ),
    "deadletter": (
        DeadLetter(
            source_topic="customer.browsing",
            partition=1,
            offset=7,
            key=b"c-1",
            value=b"\xff\x00",
            error="not_json_or_avro: x",
            ts=TS,
        ),
    ),
}

pytestmark = pytest.mark.integration


@pytest.fixture
def topic_prefix() -> str:
    return f"it-{uuid.uuid4().hex[:8]}."


def client(schema_registry: LocalRegistry) -> Any:
    """A fresh client (empty caches) for the fixture's registry."""
    return serde.registry_client(schema_registry.url)


@pytest.mark.parametrize("kind", sorted(serde.KINDS))
def test_every_kind_round_trips_through_the_registry(
    schema_registry: LocalRegistry, topic_prefix: str, kind: str
) -> None:
    writer = serde.Codec(client(schema_registry))
    topic = f"{topic_prefix}{kind}"
    schema_id = writer.register(kind, topic)
    assert writer.register(kind, topic) == schema_id  # cached, and idempotent
    # A fresh codec knows no ids: it must fetch the writer schema from the registry.
    reader = serde.Codec(client(schema_registry))
    for record in SAMPLES[kind]:
        value = writer.encode(kind, record, topic)
        assert value[0] == 0 and int.from_bytes(value[1:5], "big") == schema_id
        assert reader.decode(kind, value) == record
        assert reader.decode(kind, serde.encode_json(record)) == record  # JSON still accepted


def test_registering_again_gives_the_same_id(
    schema_registry: LocalRegistry, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}recommendations"
    first = serde.Codec(client(schema_registry)).register("recommendation", topic)
    assert serde.Codec(client(schema_registry)).register("recommendation", topic) == first


def test_older_writer_schema_from_the_registry_resolves(
    schema_registry: LocalRegistry, topic_prefix: str
) -> None:
    from confluent_kafka.schema_registry import Schema

    old: dict[str, Any] = json.loads(serde.schema_text("recommendation"))
    old["fields"] = [f for f in old["fields"] if f["name"] != "guardrail"]
    registry = client(schema_registry)
    old_id = registry.register_schema(
        serde.subject_for(f"{topic_prefix}old"), Schema(json.dumps(old), "AVRO")
    )
    buf = io.BytesIO()
    datum = serde.to_avro(REC)
    fastavro.schemaless_writer(buf, fastavro.parse_schema(old), datum)
    value = b"\x00" + old_id.to_bytes(4, "big") + buf.getvalue()
    decoded = serde.Codec(registry).decode("recommendation", value)
    assert decoded == REC.model_copy(update={"guardrail": None})


def test_unknown_schema_id_in_the_registry(schema_registry: LocalRegistry) -> None:
    codec = serde.Codec(client(schema_registry))
    value = b"\x00" + (2**31 - 7).to_bytes(4, "big") + serde.encode_avro(REC)
    for _ in range(2):  # the second answer comes from the short negative cache
        with pytest.raises(serde.DecodeError) as err:
            codec.decode("recommendation", value)
        assert err.value.error_kind == "unknown_schema_id"


def test_registry_down_is_transient() -> None:
    codec = serde.Codec(serde.registry_client(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(serde.DecodeError) as err:
        codec.decode("recommendation", b"\x00\x00\x00\x00\x01" + serde.encode_avro(REC))
    assert err.value.error_kind == "registry_unavailable" and err.value.transient
    with pytest.raises(serde.EncodeError) as enc:
        codec.encode("recommendation", REC, "recommendations.approved")
    assert enc.value.error_kind == "registry_unavailable"
