"""Record <-> bytes: Avro (schemaless and the Confluent wire format) and plain JSON.

The ``.avsc`` files in ``schemas/`` (or ``$GUARDRAIL_SCHEMAS_DIR``) are the source of truth;
each is parsed once. A value whose first byte is ``0x00`` is read as the Confluent wire
format (magic byte 0, 4-byte big-endian schema id, Avro body), anything else as JSON.
Every failure to decode is a :class:`DecodeError` with a short ``error_kind``.

Timestamps are plain Avro ``long`` epoch milliseconds (no ``timestamp-millis`` logical type),
so they stay ``int`` in Python, as in ``records.py``. In JSON, the ``bytes`` fields of a
``DeadLetter`` (``key``, ``value``) are standard base64 strings (or null).
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import fastavro
from fastavro.read import SchemaResolutionError
from pydantic import BaseModel, ValidationError

from guardrail.core.records import EVENT_MODELS, DeadLetter, Decision
from guardrail.core.validation import one_line, problems
from guardrail.errors import InputError

if TYPE_CHECKING:
    from confluent_kafka.schema_registry import SchemaRegistryClient

__all__ = [
    "DEFAULT_MAX_VALUE_BYTES",
    "ERROR_KINDS",
    "KINDS",
    "Codec",
    "DecodeError",
    "EncodeError",
    "decode_avro",
    "decode_json",
    "encode_avro",
    "encode_json",
    "encode_wire",
    "from_avro",
    "kind_of",
    "parsed_schema",
    "registry_client",
    "schema_text",
    "schemas_dir",
    "subject_for",
    "to_avro",
]

#: Every record kind: the input records by their ``EventType``, then the two output records.
KINDS: Final[dict[str, type[BaseModel]]] = {
    **EVENT_MODELS,
    "decision": Decision,
    "deadletter": DeadLetter,
}
_KIND_OF_MODEL: Final = {model: kind for kind, model in KINDS.items()}
_SCHEMA_FILES: Final = {kind: f"{model.__name__}.avsc" for kind, model in KINDS.items()}

MAGIC: Final = 0
HEADER_BYTES: Final = 5
DEFAULT_MAX_VALUE_BYTES: Final = 1 << 20
_MAX_MESSAGE: Final = 300
_MISSING_ID_TTL_S: Final = 60.0  # how long a schema id the registry denied stays denied

ERROR_KINDS: Final = (
    "empty",  # no value at all (a tombstone) or zero bytes
    "oversized",  # longer than the codec's max_value_bytes
    "not_json_or_avro",  # neither JSON nor a decodable wire-format Avro body
    "unknown_schema_id",  # wire format naming a schema id nobody knows
    "registry_unavailable",  # the registry could not be asked
    "schema_mismatch",  # the writer schema does not resolve to the expected record
    "missing_field",  # a required field is absent
    "bad_enum",  # a value outside its enum (channel, trigger, action, ...)
    "invalid_record",  # wrong shape or type, out of range, or an invalid value
)


class SerdeError(InputError):
    """A record that could not be encoded or decoded; ``error_kind`` is a short word."""

    def __init__(self, error_kind: str, message: str) -> None:
        self.error_kind = error_kind
        self.message = message if len(message) <= _MAX_MESSAGE else message[:_MAX_MESSAGE] + "..."
        super().__init__(f"{error_kind}: {self.message}")


class DecodeError(SerdeError):
    """Bytes that are not a valid record of the expected kind (one of :data:`ERROR_KINDS`)."""

    @property
    def transient(self) -> bool:
        """True when retrying later may succeed (the registry was down): not a dead letter."""
        return self.error_kind == "registry_unavailable"


class EncodeError(SerdeError):
    """A record that could not be encoded (``registry_unavailable`` or ``invalid_record``)."""


# ---------------------------------------------------------------------------------- schemas


def schemas_dir() -> Path:
    """The schemas folder: ``$GUARDRAIL_SCHEMAS_DIR``, else the repository's ``schemas/``."""
    override = os.environ.get("GUARDRAIL_SCHEMAS_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[3] / "schemas"


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {sorted(KINDS)}")


@functools.cache
def schema_text(kind: str) -> str:
    """The ``.avsc`` text of ``kind``, as registered with a schema registry."""
    _check_kind(kind)
    return (schemas_dir() / _SCHEMA_FILES[kind]).read_text(encoding="utf-8")


def _parse(schema: Any) -> dict[str, Any]:
    parsed = fastavro.parse_schema(schema)
    if not isinstance(parsed, dict):
        raise ValueError("not a record schema")
    return parsed


@functools.cache
def parsed_schema(kind: str) -> dict[str, Any]:
    """The fastavro-parsed schema of ``kind`` (parsed once per process)."""
    return _parse(json.loads(schema_text(kind)))


def kind_of(record: BaseModel) -> str:
    """The kind name of a record instance."""
    try:
        return _KIND_OF_MODEL[type(record)]
    except KeyError:
        raise TypeError(f"not a guardrail record: {type(record).__name__}") from None


# ---------------------------------------------------------------------- model <-> Avro dict


def _lists(value: Any) -> Any:
    """Tuples (model arrays) to lists, recursively, as Avro libraries expect."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_lists(v) for v in value]
    return value


def to_avro(record: BaseModel) -> dict[str, Any]:
    """An Avro datum (dicts, lists, bytes) of ``record``, for fastavro or the avro package."""
    result: dict[str, Any] = _lists(record.model_dump())
    return result


def _validation_error(kind: str, exc: ValidationError) -> DecodeError:
    error_type = problems(exc)[0].kind
    if error_type == "json_invalid":
        error_kind = "not_json_or_avro"
    elif error_type == "missing":
        error_kind = "missing_field"
    elif error_type in ("literal_error", "enum"):
        error_kind = "bad_enum"
    else:
        error_kind = "invalid_record"
    return DecodeError(error_kind, f"{kind} {one_line(exc, root='<record>', limit=1)}")


def from_avro(kind: str, datum: Mapping[str, Any]) -> BaseModel:
    """Validate an Avro (or JSON-parsed) dict as the record ``kind``."""
    try:
        return KINDS[kind].model_validate(datum)
    except ValidationError as exc:
        raise _validation_error(kind, exc) from None


# --------------------------------------------------------------------------------- JSON


def encode_json(record: BaseModel) -> bytes:
    """Compact JSON of ``record`` (DeadLetter bytes as base64)."""
    if isinstance(record, DeadLetter):
        data = record.model_dump()
        for name in ("key", "value"):
            if data[name] is not None:
                data[name] = base64.b64encode(data[name]).decode("ascii")
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return record.model_dump_json().encode()


def _decode_deadletter_json(value: bytes) -> BaseModel:
    try:
        data = json.loads(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError("not_json_or_avro", f"deadletter: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DecodeError("invalid_record", "deadletter: JSON value is not an object")
    for name in ("key", "value"):
        if isinstance(data.get(name), str):
            try:
                data[name] = base64.b64decode(data[name], validate=True)
            except (binascii.Error, ValueError):
                raise DecodeError("invalid_record", f"deadletter {name}: not base64") from None
    return from_avro("deadletter", data)


def decode_json(kind: str, value: bytes) -> BaseModel:
    """Parse JSON ``value`` as the record ``kind``; extra fields are ignored."""
    _check_kind(kind)
    if kind == "deadletter":
        return _decode_deadletter_json(value)
    try:
        return KINDS[kind].model_validate_json(value)
    except ValidationError as exc:
        raise _validation_error(kind, exc) from None


# ---------------------------------------------------------------------------------- Avro


def encode_avro(record: BaseModel) -> bytes:
    """Schemaless Avro binary of ``record`` with its kind's schema."""
    buf = io.BytesIO()
    # Model arrays are tuples; with tuple notation off fastavro takes them as arrays (a
    # 2-tuple in a union would otherwise name a branch), so the dump needs no copying.
    fastavro.schemaless_writer(
        buf, parsed_schema(kind_of(record)), record.model_dump(), disable_tuple_notation=True
    )
    return buf.getvalue()


def _read_avro(
    kind: str, data: bytes, start: int, writer: dict[str, Any], reader: dict[str, Any] | None
) -> BaseModel:
    stream = io.BytesIO(data)  # shares the bytes, no copy
    stream.seek(start)
    try:
        datum = fastavro.schemaless_reader(stream, writer, reader)
    except SchemaResolutionError as exc:
        error_kind = "bad_enum" if "reader symbol list" in str(exc) else "schema_mismatch"
        raise DecodeError(error_kind, f"{kind}: {exc}") from None
    except Exception as exc:  # any failure on untrusted bytes is a bad body
        raise DecodeError("not_json_or_avro", f"{kind}: bad Avro body: {exc!r}") from None
    if stream.tell() != len(data):
        raise DecodeError("not_json_or_avro", f"{kind}: {len(data) - stream.tell()} bytes left")
    if not isinstance(datum, dict):
        raise DecodeError("schema_mismatch", f"{kind}: writer schema is not a record")
    return from_avro(kind, datum)


def decode_avro(
    kind: str, body: bytes, writer_schema: Mapping[str, Any] | None = None
) -> BaseModel:
    """Read schemaless Avro ``body`` as ``kind``, written with ``writer_schema`` (default ours)."""
    _check_kind(kind)
    reader = parsed_schema(kind)
    if writer_schema is None:
        return _read_avro(kind, body, 0, reader, None)
    writer = _parse(dict(writer_schema))
    return _read_avro(kind, body, 0, writer, None if writer == reader else reader)


def encode_wire(schema_id: int, record: BaseModel) -> bytes:
    """Confluent wire format: magic byte 0, 4-byte big-endian ``schema_id``, Avro body."""
    return bytes((MAGIC,)) + schema_id.to_bytes(4, "big") + encode_avro(record)


def subject_for(topic: str) -> str:
    """The TopicNameStrategy subject of a topic's values."""
    return f"{topic}-value"


# Seconds a registry request may take: the client's default is none at all, and a request
# that never returns would stop every partition waiting for that schema. One retry in the
# client (its default is 3, each after up to 1, 2, 4 s): the callers retry on their own
# terms (the worker's pipeline backs off between attempts; ingest stops and re-reads).
REGISTRY_TIMEOUT_S: Final = 5
REGISTRY_RETRIES: Final = 1


def registry_client(url: str, **config: Any) -> SchemaRegistryClient:
    """A schema registry client for ``url`` (extra client ``config`` passed through)."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    defaults = {"timeout": REGISTRY_TIMEOUT_S, "max.retries": REGISTRY_RETRIES}
    return SchemaRegistryClient({"url": url, **defaults, **config})


def registry_client_or_none(url: str | None) -> SchemaRegistryClient | None:
    """The registry client for ``url``, or None when no registry is configured (JSON only)."""
    return registry_client(url) if url else None


# --------------------------------------------------------------------------------- codec


class Codec:
    """Decodes (wire format or JSON) and encodes records, with an optional schema registry.

    Writer schemas are fetched from the registry once per schema id and cached, as are the
    ids our own schemas got when registered (an id the registry denies is not asked again
    for a minute). Registry calls block; they happen once per id. A ``registry_unavailable``
    error is :attr:`DecodeError.transient`: retry rather than dead-letter.
    """

    def __init__(
        self,
        registry: SchemaRegistryClient | None = None,
        *,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
    ) -> None:
        self.registry = registry
        self.max_value_bytes = max_value_bytes
        self._writers: dict[int, dict[str, Any]] = {}  # schema id -> parsed writer schema
        self._readers: dict[tuple[int, str], dict[str, Any] | None] = {}  # None: same schema
        self._ids: dict[tuple[str, str], int] = {}  # (kind, topic) -> registered id
        self._missing: dict[int, float] = {}  # schema id -> when the registry said 404

    # -- schema ids

    def remember_schema(self, schema_id: int, schema: str | Mapping[str, Any]) -> None:
        """Cache ``schema`` (Avro JSON text, a dict, or a kind name) as writer of ``schema_id``."""
        if isinstance(schema, str) and schema in KINDS:
            parsed = parsed_schema(schema)
        else:
            loaded = json.loads(schema) if isinstance(schema, str) else dict(schema)
            parsed = _parse(loaded)
        self._writers[schema_id] = parsed

    def register(self, kind: str, topic: str) -> int:
        """Register ``kind``'s schema under ``<topic>-value``; returns (and caches) its id."""
        key = (kind, topic)
        schema_id = self._ids.get(key)
        if schema_id is not None:
            return schema_id
        if self.registry is None:
            raise EncodeError("registry_unavailable", "no schema registry configured")
        from confluent_kafka.schema_registry import Schema

        try:
            schema_id = self.registry.register_schema(
                subject_for(topic), Schema(schema_text(kind), "AVRO")
            )
        except Exception as exc:  # HTTP, connection or registry errors alike
            raise EncodeError(
                "registry_unavailable", f"registering {kind} for {topic}: {exc}"
            ) from None
        self._ids[key] = schema_id
        self._writers.setdefault(schema_id, parsed_schema(kind))
        return schema_id

    def _writer(self, schema_id: int) -> dict[str, Any]:
        cached = self._writers.get(schema_id)
        if cached is not None:
            return cached
        if self.registry is None:
            raise DecodeError(
                "unknown_schema_id", f"schema id {schema_id} unknown and no registry configured"
            )
        denied = self._missing.get(schema_id)
        if denied is not None and time.monotonic() - denied < _MISSING_ID_TTL_S:
            raise DecodeError("unknown_schema_id", f"schema id {schema_id} not in the registry")
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        try:
            found = self.registry.get_schema(schema_id)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                self._missing[schema_id] = time.monotonic()
                raise DecodeError(
                    "unknown_schema_id", f"schema id {schema_id} not in the registry"
                ) from None
            raise DecodeError("registry_unavailable", f"schema id {schema_id}: {exc}") from None
        except Exception as exc:  # connection errors of any HTTP stack
            raise DecodeError("registry_unavailable", f"schema id {schema_id}: {exc}") from None
        if found.schema_type not in (None, "AVRO") or not found.schema_str:
            raise DecodeError(
                "schema_mismatch", f"schema id {schema_id} is {found.schema_type}, not Avro"
            )
        try:
            writer = _parse(json.loads(found.schema_str))
        except Exception as exc:  # a registry schema fastavro cannot read
            raise DecodeError("schema_mismatch", f"schema id {schema_id}: {exc}") from None
        self._writers[schema_id] = writer
        return writer

    # -- decode / encode

    def decode(self, kind: str, value: bytes | None) -> BaseModel:
        """The record ``kind`` in ``value``: wire format if it starts with 0x00, else JSON."""
        if not value:
            _check_kind(kind)
            raise DecodeError("empty", f"{kind}: no value")
        if len(value) > self.max_value_bytes:
            raise DecodeError(
                "oversized", f"{kind}: {len(value)} bytes > limit {self.max_value_bytes}"
            )
        if value[0] != MAGIC:
            return decode_json(kind, value)
        _check_kind(kind)
        if len(value) < HEADER_BYTES:
            raise DecodeError("not_json_or_avro", f"{kind}: wire-format header cut short")
        schema_id = int.from_bytes(value[1:HEADER_BYTES], "big")
        key = (schema_id, kind)
        writer = self._writer(schema_id)
        try:
            reader = self._readers[key]
        except KeyError:
            ours = parsed_schema(kind)
            reader = self._readers[key] = None if writer == ours else ours
        return _read_avro(kind, value, HEADER_BYTES, writer, reader)

    def encode(self, kind: str, record: BaseModel, topic: str) -> bytes:
        """``record`` in the wire format when a registry is configured, else JSON."""
        if not isinstance(record, KINDS[kind]):
            raise TypeError(f"{type(record).__name__} is not a {kind} record")
        if self.registry is None:
            return encode_json(record)
        schema_id = self.register(kind, topic)
        return bytes((MAGIC,)) + schema_id.to_bytes(4, "big") + encode_avro(record)

    def decoder(self, kind: str) -> Callable[[bytes | None], BaseModel]:
        """``decode`` bound to one kind."""
        _check_kind(kind)
        return functools.partial(self.decode, kind)
