"""The v2 schemas evolve the v1 ones compatibly, checked by a real registry (local Apicurio).

The v1 schemas (as they were before contract v2) are kept in ``data/schemas_v1``. Each is
registered first, the subject is set to BACKWARD compatibility, then today's schema is
registered over it: the registry must accept it, and must refuse a change that breaks old
data. Records written with v1 before the upgrade decode with today's reader
(``guardrail.kafka.serde``), taking the v2 defaults; records written with v2 still read with
the v1 schema (forward: an old consumer ignores the new fields).
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import fastavro
import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError

from guardrail.core.records import Decision, Reason, RecItem, Recommendation
from guardrail.devstack.registry import LocalRegistry
from guardrail.kafka import serde

pytestmark = pytest.mark.integration

V1 = Path(__file__).parent / "data" / "schemas_v1"
TS = 1_700_000_000_000
REC = Recommendation(
    rec_id="r-1",
    customer_id="c-1",
    ts=TS,
    channel="push",
    trigger="cart",
    items=(RecItem(sku="S-1", category="home/kitchen"),),
    body="Pans.",
    data_sources=("browsing",),
)
DECISION = Decision(
    rec_id="r-1",
    customer_id="c-1",
    ts=TS,
    action="rewrite",
    reasons=(Reason(code="too_soon", detail="d"),),
    policy_version="p1",
    recommendation=REC,
)


def v1_text(kind: str) -> str:
    return (V1 / f"{serde.KINDS[kind].__name__}.avsc").read_text(encoding="utf-8")


@pytest.fixture
def registry(schema_registry: LocalRegistry) -> Any:
    return serde.registry_client(schema_registry.url)


def backward_subject(registry: Any, kind: str) -> tuple[str, int]:
    """A fresh subject holding the v1 schema of ``kind``, with BACKWARD compatibility on."""
    subject = serde.subject_for(f"evo-{uuid.uuid4().hex[:8]}.{kind}")
    v1_id = registry.register_schema(subject, Schema(v1_text(kind), "AVRO"))
    registry.set_compatibility(subject_name=subject, level="BACKWARD")
    assert registry.get_compatibility(subject) == "BACKWARD"
    return subject, v1_id


def wire(schema_id: int, schema_text: str, record: Any) -> bytes:
    buf = io.BytesIO()
    # fastavro writes only the fields of the schema given: a v1 writer knows no v2 field.
    fastavro.schemaless_writer(buf, fastavro.parse_schema(json.loads(schema_text)), record)
    return b"\x00" + schema_id.to_bytes(4, "big") + buf.getvalue()


@pytest.mark.parametrize("kind", sorted(serde.KINDS))
def test_the_registry_accepts_v2_over_v1_under_backward(registry: Any, kind: str) -> None:
    subject, v1_id = backward_subject(registry, kind)
    schema = Schema(serde.schema_text(kind), "AVRO")
    assert registry.test_compatibility(subject, schema)
    v2_id = registry.register_schema(subject, schema)
    changed = v1_text(kind) != serde.schema_text(kind)
    assert (v2_id != v1_id) is changed
    assert len(registry.get_versions(subject)) == (2 if changed else 1)


def test_the_registry_refuses_an_incompatible_change(registry: Any) -> None:
    subject, _ = backward_subject(registry, "recommendation")
    broken: dict[str, Any] = json.loads(serde.schema_text("recommendation"))
    # A new field without a default: old records cannot be read with it.
    broken["fields"].append({"name": "region", "type": "string", "doc": "no default"})
    schema = Schema(json.dumps(broken), "AVRO")
    assert not registry.test_compatibility(subject, schema)
    with pytest.raises(SchemaRegistryError) as refused:
        registry.register_schema(subject, schema)
    assert refused.value.http_status_code == 409


def test_v1_records_written_before_the_upgrade_decode_with_the_v2_reader(
    registry: Any, schema_registry: LocalRegistry
) -> None:
    rec_subject, rec_v1 = backward_subject(registry, "recommendation")
    dec_subject, dec_v1 = backward_subject(registry, "decision")
    old_rec = wire(rec_v1, v1_text("recommendation"), serde.to_avro(REC))
    old_dec = wire(dec_v1, v1_text("decision"), serde.to_avro(DECISION))
    # The upgrade: v2 registered; the topics still hold the v1 records.
    registry.register_schema(rec_subject, Schema(serde.schema_text("recommendation"), "AVRO"))
    registry.register_schema(dec_subject, Schema(serde.schema_text("decision"), "AVRO"))

    reader = serde.Codec(serde.registry_client(schema_registry.url))  # knows no ids yet
    decoded = reader.decode("recommendation", old_rec)
    assert decoded == REC
    assert isinstance(decoded, Recommendation)
    assert (decoded.message_class, decoded.priority, decoded.expires_at) == ("marketing", 50, None)
    decision = reader.decode("decision", old_dec)
    assert isinstance(decision, Decision)
    assert decision == DECISION and decision.holdout is False


def test_v2_records_still_read_with_the_v1_schema(registry: Any) -> None:
    subject, _ = backward_subject(registry, "recommendation")
    v2_id = registry.register_schema(subject, Schema(serde.schema_text("recommendation"), "AVRO"))
    record = REC.model_copy(
        update={"message_class": "transactional", "priority": 90, "expires_at": TS + 1}
    )
    value = serde.Codec(registry).encode("recommendation", record, subject.removesuffix("-value"))
    assert int.from_bytes(value[1:5], "big") == v2_id
    writer = fastavro.parse_schema(json.loads(serde.schema_text("recommendation")))
    old_reader = fastavro.parse_schema(json.loads(v1_text("recommendation")))
    datum = fastavro.schemaless_reader(io.BytesIO(value[5:]), writer, old_reader)
    assert isinstance(datum, dict)
    assert "message_class" not in datum
    assert datum["rec_id"] == "r-1" and datum["body"] == "Pans."
