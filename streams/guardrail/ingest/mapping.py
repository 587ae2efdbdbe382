"""The ingest mapping file: which brand topic becomes which contract record, and how.

YAML, validated at start (pydantic) with one line per problem naming where it is::

    sources:
      - topic: shop.orders            # the brand's topic
        type: purchase                # the contract record it becomes
        format: json                  # json, or avro (Confluent wire format, via the registry)
        key: customer.id              # JMESPath of the customer id: the output key
        fields:                       # field: JMESPath, or {path, unit, scale, map, default}
          event_id: order_ref
          ts: {path: created_at, unit: s}          # seconds -> epoch milliseconds
          order_id: order_ref
          items: "lines[].{sku: sku, category: cat, quantity: qty, price: price}"
          gift: {path: is_gift, default: false}
        constants:                    # fixed values
          gift: false

``customer_id`` is the key's value unless mapped; a field neither mapped nor constant keeps
the contract's default (and a required one is a mapping error at start).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import jmespath
import yaml
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from guardrail.core.records import EVENT_MODELS
from guardrail.errors import ConfigError

RecordType = Literal["purchase", "location", "browsing", "profile", "recommendation"]
#: Time units a field's value may come in; each becomes epoch milliseconds.
Unit = Literal["s", "ms", "us", "ns", "iso8601"]


class MappingError(ConfigError):
    """A mapping file that cannot be used; one line per problem, each saying where."""


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1)
    unit: Unit | None = None
    scale: float | None = None
    # value renames: the brand's word -> the contract's ("page_view" -> "view")
    map: dict[str, Any] | None = None
    default: Any = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _compiles(cls, value: str) -> str:
        compile_path(value)
        return value


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str = Field(min_length=1)
    type: RecordType
    format: Literal["json", "avro"] = "json"
    key: str = Field(min_length=1)
    fields: dict[str, FieldSpec] = {}
    constants: dict[str, Any] = {}

    @field_validator("key")
    @classmethod
    def _key_compiles(cls, value: str) -> str:
        compile_path(value)
        return value


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[Source] = Field(min_length=1)


def compile_path(path: str) -> ParsedResult:
    try:
        return jmespath.compile(path)
    except JMESPathError as exc:
        first = str(exc).splitlines()[0]
        raise ValueError(f"bad JMESPath {path!r}: {first}") from None


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<file>"


def _contract_problems(mapping: Mapping) -> list[str]:
    """Fields the record does not have (with the closest name), required ones left unmapped,
    topics mapped twice."""
    problems = []
    seen: set[str] = set()
    for i, source in enumerate(mapping.sources):
        where = f"sources[{i}] ({source.topic} -> {source.type})"
        if source.topic in seen:
            problems.append(f"{where}: topic mapped twice")
        seen.add(source.topic)
        model = EVENT_MODELS[source.type]
        known = list(model.model_fields)
        for name in [*source.fields, *source.constants]:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                problems.append(f"{where}: {source.type} has no field {name!r}{hint}")
        given = {*source.fields, *source.constants, "customer_id"}
        for name, info in model.model_fields.items():
            if info.is_required() and name not in given:
                problems.append(f"{where}: required field {name!r} is neither mapped nor constant")
    return problems


def load_mapping(path: Path) -> Mapping:
    """The mapping in ``path``, or :class:`MappingError` naming every problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise MappingError(f"{path}: not valid YAML{at}") from None
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{path}: {_where(e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise MappingError("; ".join(lines)) from None
    problems = _contract_problems(mapping)
    if problems:
        raise MappingError("; ".join(f"{path}: {p}" for p in problems))
    return mapping
