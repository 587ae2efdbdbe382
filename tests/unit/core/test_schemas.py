"""The .avsc files: they parse, document themselves, and match records.py field for field."""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any, Literal

import avro.schema
import fastavro
import pytest
from fastavro.schema import expand_schema
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from guardrail.kafka import serde

KINDS = sorted(serde.KINDS)
NAMESPACE = "guardrail.v1"


def load(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(serde.schema_text(kind))
    return loaded


def test_schemas_dir_holds_exactly_one_schema_per_kind() -> None:
    files = {p.name for p in serde.schemas_dir().glob("*.avsc")}
    assert files == {f"{model.__name__}.avsc" for model in serde.KINDS.values()}


def test_schemas_dir_can_be_overridden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GUARDRAIL_SCHEMAS_DIR", str(tmp_path))
    assert serde.schemas_dir() == tmp_path


@pytest.mark.parametrize("kind", KINDS)
def test_schema_parses_with_the_avro_package(kind: str) -> None:
    parsed = avro.schema.parse(serde.schema_text(kind))
    assert isinstance(parsed, avro.schema.RecordSchema)
    assert parsed.fullname == f"{NAMESPACE}.{serde.KINDS[kind].__name__}"


@pytest.mark.parametrize("kind", KINDS)
def test_schema_parses_with_fastavro(kind: str) -> None:
    parsed: Any = fastavro.parse_schema(load(kind))
    assert parsed["name"] == f"{NAMESPACE}.{serde.KINDS[kind].__name__}"


def named_types(schema: Any) -> typing.Iterator[dict[str, Any]]:
    """Every record and enum definition inside ``schema``."""
    if isinstance(schema, list):
        for branch in schema:
            yield from named_types(branch)
    elif isinstance(schema, dict):
        if schema["type"] in ("record", "enum"):
            yield schema
        if schema["type"] == "record":
            for field in schema["fields"]:
                yield from named_types(field["type"])
        elif schema["type"] == "array":
            yield from named_types(schema["items"])


@pytest.mark.parametrize("kind", KINDS)
def test_every_record_enum_and_field_has_a_doc(kind: str) -> None:
    for named in named_types(load(kind)):
        assert named.get("doc"), named["name"]
        for field in named.get("fields", ()):
            assert field.get("doc"), f"{named['name']}.{field['name']}"


@pytest.mark.parametrize("kind", KINDS)
def test_one_namespace_and_no_logical_timestamps(kind: str) -> None:
    text = serde.schema_text(kind)
    assert load(kind)["namespace"] == NAMESPACE
    assert text.count('"namespace"') == 1
    assert "logicalType" not in text  # times are plain epoch-millisecond longs, ints in Python


@pytest.mark.parametrize("kind", KINDS)
def test_enum_defaults_are_symbols(kind: str) -> None:
    for named in named_types(load(kind)):
        if named["type"] == "enum" and "default" in named:
            assert named["default"] in named["symbols"]


def test_decision_embeds_exactly_recommendation_avsc() -> None:
    decision: Any = expand_schema(load("decision"))
    embedded = next(f for f in decision["fields"] if f["name"] == "recommendation")["type"][1]
    assert embedded == expand_schema(load("recommendation"))


# -- schemas and records.py cannot drift


def nested_model(annotation: Any) -> type[BaseModel]:
    """The pydantic model inside an annotation like ``tuple[Item, ...] | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        try:
            return nested_model(arg)
        except LookupError:
            continue
    raise LookupError(annotation)


def literal_values(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) is Literal:
        return typing.get_args(annotation)
    for arg in typing.get_args(annotation):
        found = literal_values(arg)
        if found:
            return found
    return ()


def accepts_none(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(
        None
    ) in typing.get_args(annotation)


def unwrap(avro_type: Any) -> tuple[Any, bool]:
    """The non-null type of a field and whether it is nullable."""
    if isinstance(avro_type, list):
        assert avro_type[0] == "null" and len(avro_type) == 2, avro_type
        return avro_type[1], True
    return avro_type, False


def check_record(model: type[BaseModel], record: dict[str, Any], path: str) -> None:
    fields = {f["name"]: f for f in record["fields"]}
    assert list(fields) == list(model.model_fields), f"{path}: field names or order differ"
    for name, info in model.model_fields.items():
        where = f"{path}.{name}"
        avro_field = fields[name]
        inner, nullable = unwrap(avro_field["type"])
        assert nullable == accepts_none(info.annotation), f"{where}: nullability differs"
        if info.default is PydanticUndefined:
            assert "default" not in avro_field, f"{where}: required in records.py"
        else:
            assert "default" in avro_field, f"{where}: has a default in records.py"
            expected = list(info.default) if isinstance(info.default, tuple) else info.default
            assert avro_field["default"] == expected, f"{where}: defaults differ"
        element = inner["items"] if isinstance(inner, dict) and inner["type"] == "array" else inner
        if isinstance(element, dict) and element["type"] == "record":
            check_record(nested_model(info.annotation), element, where)
        elif isinstance(element, dict) and element["type"] == "enum":
            assert tuple(element["symbols"]) == literal_values(info.annotation), where
        else:
            assert not literal_values(info.annotation), f"{where}: a Literal needs an Avro enum"


@pytest.mark.parametrize("kind", KINDS)
def test_schema_fields_match_records_py(kind: str) -> None:
    expanded: Any = expand_schema(load(kind))
    check_record(serde.KINDS[kind], expanded, kind)
