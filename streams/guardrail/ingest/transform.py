"""One brand record -> one contract record, by a :class:`~guardrail.ingest.mapping.Source`.

Pure: no Kafka. A record that cannot be mapped raises :class:`MapError` with a dead-letter
error kind (the contract's: ``not_json_or_avro``, ``missing_field``, ``bad_enum``,
``invalid_record``) and a reason that names fields, never their values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jmespath.parser import ParsedResult
from pydantic import BaseModel

from guardrail.errors import InputError
from guardrail.ingest.mapping import FieldSpec, Source, compile_path
from guardrail.kafka import serde

_TO_MS = {"s": 1000.0, "ms": 1.0, "us": 0.001, "ns": 0.000001}


class MapError(InputError):
    """A source record the mapping cannot turn into a contract record; ``error_kind`` says why."""

    def __init__(self, error_kind: str, message: str) -> None:
        super().__init__(f"{error_kind}: {message}")
        self.error_kind = error_kind


@dataclass(frozen=True)
class CompiledSource:
    """A mapping source with its JMESPath expressions compiled once."""

    source: Source
    key: ParsedResult
    fields: tuple[tuple[str, FieldSpec, ParsedResult], ...]

    @classmethod
    def of(cls, source: Source) -> CompiledSource:
        fields = tuple(
            (name, spec, compile_path(spec.path)) for name, spec in source.fields.items()
        )
        return cls(source, compile_path(source.key), fields)

    @property
    def kind(self) -> str:
        return self.source.type

    def customer_id(self, doc: Any) -> str:
        value = self.key.search(doc)
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            raise MapError("missing_field", f"key {self.source.key!r} is not a string or integer")
        return str(value)

    def map(self, doc: Any) -> tuple[str, BaseModel]:
        """(customer id, the contract record) for a decoded brand record ``doc``."""
        if not isinstance(doc, dict):
            raise MapError("invalid_record", f"expected an object, got {type(doc).__name__}")
        customer = self.customer_id(doc)
        out: dict[str, Any] = {"customer_id": customer, **self.source.constants}
        for name, spec, path in self.fields:
            value = path.search(doc)
            if value is None:
                value = spec.default
                if value is None:
                    continue  # the contract's default, or missing_field if it has none
            else:
                value = convert(name, value, spec)
            out[name] = value
        try:
            record = serde.from_avro(self.kind, out)
        except serde.DecodeError as exc:
            raise MapError(exc.error_kind, exc.message) from None
        return customer, record


def convert(name: str, value: Any, spec: FieldSpec) -> Any:
    """``value`` after the spec's value map, unit and scale (types are not coerced)."""
    if spec.map is not None:
        if not isinstance(value, str | int) or str(value) not in spec.map:
            raise MapError("bad_enum", f"{name}: value not in the field's map")
        value = spec.map[str(value)]
    if spec.unit == "iso8601":
        return _iso_ms(name, value)
    if spec.unit is not None or spec.scale is not None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MapError("invalid_record", f"{name}: expected a number")
        if spec.scale is not None:
            value = value * spec.scale
        if spec.unit is not None:
            return round(value * _TO_MS[spec.unit])
    return value


def _iso_ms(name: str, value: Any) -> int:
    if not isinstance(value, str):
        raise MapError("invalid_record", f"{name}: expected an ISO 8601 string")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise MapError("invalid_record", f"{name}: not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise MapError("invalid_record", f"{name}: ISO 8601 time without a UTC offset")
    return round(when.timestamp() * 1000)


def decode_json(value: bytes | None) -> Any:
    if not value:
        raise MapError("empty", "no value")
    try:
        return json.loads(value)
    except (ValueError, UnicodeDecodeError):
        raise MapError("not_json_or_avro", "value is not JSON") from None
