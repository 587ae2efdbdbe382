"""The ingest mapping: validated at start with one clear line per problem; records mapped by
JMESPath paths, renames, constants, unit conversions and value maps, never coerced."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.core.records import Browsing, Purchase
from guardrail.ingest.mapping import MappingError, Source, load_mapping
from guardrail.ingest.transform import CompiledSource, MapError

ORDERS = """
sources:
  - topic: shop.orders
    type: purchase
    key: customer.id
    fields:
      event_id: order_ref
      ts: {path: created_at, unit: s}
      order_id: order_ref
      items: "lines[].{sku: sku, category: cat, quantity: qty, price: price}"
      gift: {path: is_gift, default: false}
"""

ORDER = {
    "order_ref": "o-1",
    "created_at": 1_795_846_190,
    "customer": {"id": "c-42", "name": "Ana"},
    "lines": [{"sku": "LAP-1", "cat": "electronics/laptops", "qty": 1, "price": 999.0}],
}


def mapping_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return path


def source(tmp_path: Path, text: str = ORDERS) -> CompiledSource:
    return CompiledSource.of(load_mapping(mapping_file(tmp_path, text)).sources[0])


def test_a_foreign_order_becomes_a_contract_purchase(tmp_path: Path) -> None:
    customer, record = source(tmp_path).map(ORDER)
    assert customer == "c-42"
    assert isinstance(record, Purchase)
    assert record.ts == 1_795_846_190_000  # seconds -> milliseconds
    assert record.items[0].sku == "LAP-1" and record.items[0].category == "electronics/laptops"
    assert record.gift is False and record.event_id == "o-1"


def test_constants_value_maps_and_iso_times(tmp_path: Path) -> None:
    text = """
sources:
  - topic: web.clicks
    type: browsing
    key: uid
    fields:
      event_id: click_id
      ts: {path: at, unit: iso8601}
      action: {path: kind, map: {page_view: view, basket_add: add_to_cart}}
      sku: product.sku
    constants:
      category: null
"""
    _, record = source(tmp_path, text).map(
        {
            "uid": 7,
            "click_id": "k1",
            "at": "2026-11-28T07:00:00+00:00",
            "kind": "page_view",
            "product": {"sku": "S1"},
        }
    )
    assert isinstance(record, Browsing)
    assert record.customer_id == "7" and record.action == "view" and record.sku == "S1"
    assert record.ts == 1_795_849_200_000


@pytest.mark.parametrize(
    "doc, kind",
    [
        ({**ORDER, "customer": {}}, "missing_field"),
        ({**ORDER, "created_at": "1795846190"}, "invalid_record"),  # no coercion from strings
        ({**ORDER, "lines": "LAP-1"}, "missing_field"),  # a projection of a string is null
        ({k: v for k, v in ORDER.items() if k != "order_ref"}, "missing_field"),
        (["not", "an", "object"], "invalid_record"),
    ],
)
def test_a_record_that_cannot_be_mapped_names_its_dead_letter_kind(
    tmp_path: Path, doc: object, kind: str
) -> None:
    with pytest.raises(MapError) as err:
        source(tmp_path).map(doc)
    assert err.value.error_kind == kind
    assert "Ana" not in str(err.value) and "c-42" not in str(err.value)


@pytest.mark.parametrize(
    "text, message",
    [
        (ORDERS.replace("unit: s", "unit: seconds"), "sources[0].fields.ts.unit: Input should be"),
        (ORDERS.replace("key: customer.id", "key: customer..id"), "sources[0].key: bad JMESPath"),
        (
            ORDERS.replace("order_id: order_ref", "order_idd: order_ref"),
            "purchase has no field 'order_idd' (did you mean order_id?)",
        ),
        (
            ORDERS.replace("      order_id: order_ref\n", ""),
            "required field 'order_id' is neither mapped nor constant",
        ),
        (ORDERS.replace("type: purchase", "type: order"), "sources[0].type: Input should be"),
        (ORDERS + "extra: 1\n", "extra: Extra inputs are not permitted"),
        ("sources: [", "not valid YAML at line 1"),
        ("sources: []", "sources: List should have at least 1 item"),
    ],
)
def test_a_bad_mapping_is_refused_at_start_naming_where(
    tmp_path: Path, text: str, message: str
) -> None:
    path = mapping_file(tmp_path, text)
    with pytest.raises(MappingError) as err:
        load_mapping(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_missing_mapping_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"mapping.yaml: cannot read: No such file"):
        load_mapping(tmp_path / "mapping.yaml")


def test_the_shorthand_path_is_a_field_spec() -> None:
    spec = Source.model_validate(
        {"topic": "t", "type": "profile", "key": "id", "fields": {"event_id": "eid", "ts": "t"}}
    ).fields["event_id"]
    assert spec.path == "eid" and spec.unit is None
