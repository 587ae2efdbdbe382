"""Coherent rewrites and greetings.

When items are dropped (already_purchased, duplicate_recommendation), copy that still names a
dropped item goes too: a body sentence naming it is dropped (no sentence left: suppress); a
title naming it suppresses the whole recommendation. "Names": the item's SKU, or its category's
last path segment (hyphens read as spaces), as a whole word, case insensitive, as written or
without a final s or es, unless a kept item's category has the same last segment. The reason is
the code that dropped the item.

When a dropped sentence opens with a greeting, the greeting stays, in front of the first kept
sentence.
"""

from __future__ import annotations

import pytest

from factories import NOON, T0, codes, days, decide_last, hours, kept_skus, profile, purchase, rec
from guardrail.core.coherence import segment_forms
from guardrail.core.records import Decision, Event

LAPTOP = ("LAP-9", "electronics/laptops")
BAG = ("BAG-1", "bags/laptop-bags")
SEAT = ("TS-1", "home/toilet-seats")
BRUSH = ("BR-1", "home/brushes")


def laptop_buyer() -> Event:
    return purchase(ts=NOON - days(10), items=[("LAP-1", "electronics/laptops")])


def offer(title: str | None, body: str, *items: tuple[str, str]) -> Decision:
    return decide_last([laptop_buyer(), rec(items=items or (LAPTOP, BAG), title=title, body=body)])


def body_of(decision: Decision) -> str:
    assert decision.recommendation is not None, decision.reasons
    return decision.recommendation.body


def test_a_title_naming_the_dropped_item_suppresses() -> None:
    decision = offer("New laptops picked for you", "Have a look.")
    assert decision.action == "suppress"
    assert codes(decision) == ["already_purchased"]
    assert "the title names a dropped item" in decision.reasons[0].detail


def test_a_title_naming_no_dropped_item_keeps_the_rewrite() -> None:
    decision = offer("Picked for you", "Have a look.")
    assert decision.action == "rewrite"
    assert kept_skus(decision) == ["BAG-1"]
    assert body_of(decision) == "Have a look."


def test_a_body_sentence_naming_the_dropped_item_is_dropped() -> None:
    decision = offer(None, "Still looking for a laptop? A bag keeps it safe.")
    assert decision.action == "rewrite"
    assert codes(decision) == ["already_purchased"]
    assert body_of(decision) == "A bag keeps it safe."
    assert "dropped 1 sentence naming a dropped item" in decision.reasons[0].detail


def test_no_sentence_left_suppresses() -> None:
    decision = offer(None, "Still looking for a laptop? Laptops are 10% off.")
    assert decision.action == "suppress"
    assert "no sentence left" in decision.reasons[0].detail


def test_the_sku_names_the_item() -> None:
    assert body_of(offer(None, "LAP-9 is back. A bag keeps it safe.")) == "A bag keeps it safe."
    assert body_of(offer(None, "lap-9 is back. A bag keeps it safe.")) == "A bag keeps it safe."


@pytest.mark.parametrize(
    "sentence",
    ["Laptops are back.", "A LAPTOP for you.", "Your laptop deserves it."],
    ids=["as written", "case insensitive", "without the final s"],
)
def test_the_category_word_names_the_item(sentence: str) -> None:
    assert body_of(offer(None, f"{sentence} A bag keeps it safe.")) == "A bag keeps it safe."


@pytest.mark.parametrize(
    "sentence",
    ["Laptopstands are in.", "Made for lap tops.", "Bags for every size."],
    ids=["not a whole word", "a split word", "no name at all"],
)
def test_a_sentence_not_naming_the_item_stays(sentence: str) -> None:
    decision = offer(None, f"{sentence} A bag keeps it safe.")
    assert body_of(decision) == f"{sentence} A bag keeps it safe."


def test_a_hyphenated_compound_names_the_item_as_a_whole_word() -> None:
    decision = offer(None, "Our laptop-sleeves are in. A bag keeps it safe.")
    assert body_of(decision) == "A bag keeps it safe."


def test_a_kept_item_sharing_the_dropped_items_category_word_keeps_the_copy() -> None:
    other_laptop = ("LAP-2", "electronics/refurbished/laptops")
    events = [
        purchase(ts=NOON - days(3), items=[("LAP-9", "electronics/refurbished/laptops")]),
        rec(
            items=[("LAP-9", "electronics/refurbished/laptops"), other_laptop],
            title="Laptops picked for you",
            body="Laptops for every budget. LAP-9 is our favourite.",
        ),
    ]
    decision = decide_last(events)
    assert decision.action == "rewrite"
    assert kept_skus(decision) == ["LAP-2"]
    # "Laptops" still names a kept item; the SKU of the dropped one does not.
    assert decision.recommendation is not None
    assert decision.recommendation.title == "Laptops picked for you"
    assert body_of(decision) == "Laptops for every budget."


def test_toilet_seats_is_read_as_toilet_seat() -> None:
    assert segment_forms("toilet-seats") == ("toilet seats", "toilet seat")
    events = [
        purchase(ts=NOON - days(100), items=[("TS-0", "home/toilet-seats")]),
        rec(items=[SEAT, BRUSH], body="A new toilet seat, soft-close. Brushes to match."),
    ]
    decision = decide_last(events)
    assert kept_skus(decision) == ["BR-1"]
    assert body_of(decision) == "Brushes to match."


def test_without_es_names_the_item() -> None:
    assert segment_forms("boxes") == ("boxes", "box", "boxe")
    events = [
        purchase(ts=NOON - days(3), items=[("BX-1", "home/boxes")]),
        rec(items=[("BX-1", "home/boxes"), BRUSH], body="A box for everything. Brushes too."),
    ]
    assert body_of(decide_last(events)) == "Brushes too."


def test_the_reason_is_the_code_that_dropped_the_item() -> None:
    twice = [rec(ts=NOON - hours(h), items=[("MUG-1", "kitchen/mugs")]) for h in (30, 20)]
    decision = decide_last(
        [*twice, rec(items=[("MUG-1", "kitchen/mugs"), BRUSH], title="Mugs for your mornings")]
    )
    assert decision.action == "suppress"
    assert codes(decision) == ["duplicate_recommendation"]
    assert "the title names a dropped item" in decision.reasons[0].detail


def test_nothing_dropped_changes_no_copy() -> None:
    decision = decide_last([rec(items=[LAPTOP], title="New laptops", body="Laptops are in.")])
    assert decision.action == "deliver"


def test_a_shadow_already_purchased_changes_no_copy() -> None:
    from factories import modes

    decision = decide_last(
        [laptop_buyer(), rec(items=[LAPTOP, BAG], title="New laptops picked for you")],
        modes(already_purchased="shadow"),
    )
    assert decision.action == "deliver"
    assert decision.reasons[0].shadow


# --- greetings survive rewrites ----------------------------------------------------------------


def test_the_greeting_of_a_surveillance_sentence_stays_in_front_of_the_first_kept_one() -> None:
    events = [
        profile(ts=T0, first_name="Ana"),
        rec(
            body="Dear [First Name], we noticed you looked at laptops at 2am."
            " Our new collection is in."
        ),
    ]
    decision = decide_last(events)
    assert codes(decision) == ["unresolved_placeholder", "too_granular"]
    assert body_of(decision) == "Dear Ana, Our new collection is in."


def test_a_greeting_with_no_name_stays() -> None:
    body = "Hello, we saw you browsing at 2:13. Our new collection is in."
    decision = decide_last([rec(body=body)])
    assert body_of(decision) == "Hello, Our new collection is in."


def test_an_unfilled_greeting_with_no_known_name_becomes_neutral_and_stays() -> None:
    body = "Hi {{first_name}}, we noticed you near the station. Fresh picks inside."
    decision = decide_last([rec(body=body)])
    assert body_of(decision) == "Hello, Fresh picks inside."


def test_a_greeting_holding_surveillance_detail_goes_with_its_sentence() -> None:
    body = "Welcome back to where we noticed you, the deals are here. Fresh picks inside."
    assert body_of(decide_last([rec(body=body)])) == "Fresh picks inside."


def test_a_greeting_stays_in_front_of_a_coherent_rewrite_too() -> None:
    decision = offer(None, "Dear Ana, still looking for a laptop? A bag keeps it safe.")
    assert body_of(decision) == "Dear Ana, A bag keeps it safe."


def test_a_greeting_naming_the_dropped_item_goes() -> None:
    decision = offer(None, "Hi laptop lover, a bag keeps it safe. Free shipping.")
    assert body_of(decision) == "Free shipping."


def test_no_sentence_left_but_the_greeting_suppresses() -> None:
    decision = decide_last([rec(body="Hi Ana, we noticed you at 2am.")])
    assert decision.action == "suppress"


def test_a_kept_sentence_with_its_own_greeting_gets_no_second_one() -> None:
    body = "Hi Ana, we noticed you at 2am.\nHello, fresh picks inside."
    assert body_of(decide_last([rec(body=body)])) == "Hello, fresh picks inside."
