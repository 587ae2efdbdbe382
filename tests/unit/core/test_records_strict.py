"""Strict input: a timestamp, number or boolean written as a string (or a boolean as 0/1, an
integer as 1.0) is refused, never coerced, whether it comes as JSON, as a replay line or as
Avro; a well-typed record still passes. Every scalar field of every record is strict, so a
field added later cannot quietly coerce."""

from __future__ import annotations

import copy
import io
import json
import types
import typing
from typing import Any

import fastavro
import pytest
from pydantic import BaseModel, Strict

from guardrail.core.records import parse_event
from guardrail.kafka import serde

TS = 1_795_846_190_334

VALID: dict[str, dict[str, Any]] = {
    "purchase": {"event_id": "e-1", "customer_id": "c-1", "ts": TS, "order_id": "o-1",
                 "items": [{"sku": "S-1", "category": "books", "quantity": 2, "price": 9}],
                 "gift": False},
    "location": {"event_id": "e-2", "customer_id": "c-1", "ts": TS, "lat": 38.7, "lon": -9,
                 "accuracy_m": 12.5},
    "browsing": {"event_id": "e-3", "customer_id": "c-1", "ts": TS, "action": "view"},
    "profile": {"event_id": "e-4", "customer_id": "c-1", "ts": TS, "erase": False,
                "consent": {"personalization": True, "location_marketing": False,
                            "third_party_data": False, "sensitive_categories": []}},
    "recommendation": {"rec_id": "r-1", "customer_id": "c-1", "ts": TS, "channel": "email",
                       "trigger": "batch", "items": [], "body": "New books.",
                       "deliver_after": TS + 1000},
}  # fmt: skip

# (kind, path to the field, a loosely typed value that lax parsing would have accepted)
LOOSE: list[tuple[str, tuple[str | int, ...], Any]] = [
    ("purchase", ("ts",), "1795846190334"),
    ("purchase", ("ts",), 1_795_846_190_334.0),
    ("purchase", ("gift",), "yes"),
    ("purchase", ("gift",), "true"),
    ("purchase", ("gift",), 1),
    ("purchase", ("items", 0, "quantity"), "2"),
    ("purchase", ("items", 0, "quantity"), 2.0),
    ("purchase", ("items", 0, "price"), "9.99"),
    ("location", ("lat",), "38.7"),
    ("location", ("accuracy_m",), "12.5"),
    ("browsing", ("ts",), "1795846190334"),
    ("profile", ("erase",), "true"),
    ("profile", ("erase",), 0),
    ("profile", ("consent", "personalization"), "false"),
    ("recommendation", ("ts",), "1795846190334"),
    ("recommendation", ("deliver_after",), "1795846191334"),
    ("recommendation", ("ts",), True),
    ("recommendation", ("priority",), "90"),
    ("recommendation", ("expires_at",), "1795846199334"),
]


def loosened(kind: str, path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(VALID[kind])
    target: Any = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return doc


@pytest.mark.parametrize("kind", sorted(VALID))
def test_well_typed_records_pass_as_json_replay_lines_and_avro(kind: str) -> None:
    record = serde.decode_json(kind, json.dumps(VALID[kind]).encode())
    assert parse_event(kind, VALID[kind]) == record
    assert serde.decode_avro(kind, serde.encode_avro(record)) == record


@pytest.mark.parametrize(("kind", "path", "value"), LOOSE, ids=lambda v: repr(v)[:20])
def test_a_string_or_other_loose_scalar_is_refused_in_json(
    kind: str, path: tuple[str | int, ...], value: Any
) -> None:
    value_bytes = json.dumps(loosened(kind, path, value)).encode()
    with pytest.raises(serde.DecodeError) as caught:
        serde.decode_json(kind, value_bytes)
    assert caught.value.error_kind == "invalid_record"
    assert str(path[-1]) in caught.value.message


@pytest.mark.parametrize(("kind", "path", "value"), LOOSE, ids=lambda v: repr(v)[:20])
def test_a_string_or_other_loose_scalar_is_refused_in_a_replay_line_or_avro_datum(
    kind: str, path: tuple[str | int, ...], value: Any
) -> None:
    doc = loosened(kind, path, value)
    with pytest.raises(ValueError):  # pydantic's ValidationError
        parse_event(kind, doc)
    with pytest.raises(serde.DecodeError):
        serde.from_avro(kind, doc)  # what an Avro reader hands over


def test_avro_written_with_a_string_timestamp_is_refused_not_coerced() -> None:
    writer = json.loads(serde.schema_text("purchase"))
    for field in writer["fields"]:
        if field["name"] == "ts":
            field["type"] = "string"
    buffer = io.BytesIO()
    datum = {**VALID["purchase"], "ts": "1795846190334"}
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(writer), datum)
    with pytest.raises(serde.DecodeError) as caught:
        serde.decode_avro("purchase", buffer.getvalue(), writer)
    assert caught.value.error_kind in ("schema_mismatch", "invalid_record")


def _lax_scalar(annotation: Any, metadata: list[Any]) -> bool:
    """True when a branch of ``annotation`` is an int, float or bool without ``Strict()``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_lax_scalar(arg, metadata) for arg in typing.get_args(annotation))
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return _lax_scalar(inner, [*metadata, *extra])
    strict = any(isinstance(m, Strict) and m.strict for m in metadata)
    return annotation in (int, float, bool) and not strict


def _models_inside(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_inside(arg)]


@pytest.mark.parametrize("kind", sorted(serde.KINDS))
def test_every_number_and_boolean_field_of_every_record_is_strict(kind: str) -> None:
    seen: list[type[BaseModel]] = []

    def check(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.append(model)
        for name, field in model.model_fields.items():
            lax = _lax_scalar(field.annotation, list(field.metadata))
            assert not lax, f"{model.__name__}.{name} coerces: annotate it strict"
            for inner in _models_inside(field.annotation):
                check(inner)

    check(serde.KINDS[kind])
    assert seen


def test_the_strictness_check_sees_a_lax_optional_field() -> None:
    class Lax(BaseModel):
        maybe: float | None = None

    assert _lax_scalar(Lax.model_fields["maybe"].annotation, [])
