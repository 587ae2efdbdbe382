"""Mistaken family: unresolved_placeholder, gift_purchase_signal, undeclared_life_event."""

from __future__ import annotations

import pytest

from factories import NOON, T0, codes, days, decide_last, profile, purchase, rec
from guardrail.core.records import Event

ANA = profile(ts=T0, first_name="Ana")

# --- unresolved_placeholder: a merge tag outside the greeting suppresses ----------------------

MERGE_TAGS = [
    pytest.param("[First Name]", id="[First Name]-style brackets"),
    pytest.param("[FNAME]", id="[FNAME] brackets"),
    pytest.param("[first_name]", id="[first_name] brackets"),
    pytest.param("{{first_name}}", id="{{...}} double braces"),
    pytest.param("{{ user.name }}", id="{{ ... }} with spaces"),
    pytest.param("{first_name}", id="{...} single braces"),
    pytest.param("${first_name}", id="${...} dollar braces"),
    pytest.param("%FIRSTNAME%", id="%FIELD% percent tags"),
    pytest.param("*|FNAME|*", id="*|FNAME|* mailchimp tags"),
    pytest.param("<first_name>", id="<first_name> angle tags"),
]


@pytest.mark.parametrize("tag", MERGE_TAGS)
def test_merge_tag_in_the_body_outside_the_greeting_suppresses(tag: str) -> None:
    decision = decide_last([ANA, rec(body=f"Your picks are here, {tag}. Enjoy.")])
    assert decision.action == "suppress"
    assert codes(decision) == ["unresolved_placeholder"]
    assert tag in decision.reasons[0].detail


@pytest.mark.parametrize("tag", MERGE_TAGS)
def test_merge_tag_in_the_title_suppresses(tag: str) -> None:
    decision = decide_last([rec(title=f"{tag}, new arrivals", body="See what is new.")])
    assert decision.action == "suppress"
    assert codes(decision) == ["unresolved_placeholder"]


@pytest.mark.parametrize("tag", MERGE_TAGS)
def test_merge_tag_in_the_greeting_is_filled_with_the_first_name(tag: str) -> None:
    decision = decide_last([ANA, rec(body=f"Hi {tag}, new picks for you.")])
    assert decision.action == "rewrite"
    assert codes(decision) == ["unresolved_placeholder"]
    assert decision.recommendation is not None
    assert decision.recommendation.body == "Hi Ana, new picks for you."


@pytest.mark.parametrize("tag", MERGE_TAGS)
def test_merge_tag_in_the_greeting_without_a_first_name_gets_a_neutral_greeting(tag: str) -> None:
    decision = decide_last([rec(body=f"Dear {tag}, new picks for you.")])
    assert decision.action == "rewrite"
    assert decision.recommendation is not None
    assert decision.recommendation.body == "Hello, new picks for you."


NULL_GREETINGS = [
    pytest.param("Hi null, new picks.", id="greeting naming null"),
    pytest.param("Hi None, new picks.", id="greeting naming None"),
    pytest.param("Hello undefined, new picks.", id="greeting naming undefined"),
    pytest.param("Dear N/A, new picks.", id="greeting naming N/A"),
    pytest.param("Hi , new picks.", id="greeting naming nothing (Hi ,)"),
]


@pytest.mark.parametrize("body", NULL_GREETINGS)
def test_null_greeting_is_filled_with_the_first_name(body: str) -> None:
    decision = decide_last([ANA, rec(body=body)])
    assert decision.action == "rewrite"
    assert codes(decision) == ["unresolved_placeholder"]
    assert decision.recommendation is not None
    assert decision.recommendation.body.startswith("Hi Ana") or (
        decision.recommendation.body.startswith(("Hello Ana", "Dear Ana"))
    )
    assert decision.recommendation.body.endswith("new picks.")


@pytest.mark.parametrize("body", NULL_GREETINGS)
def test_null_greeting_without_a_first_name_gets_a_neutral_greeting(body: str) -> None:
    decision = decide_last([rec(body=body)])
    assert decision.action == "rewrite"
    assert decision.recommendation is not None
    assert decision.recommendation.body == "Hello, new picks."


def test_greeting_in_the_title_is_repaired_too() -> None:
    decision = decide_last([ANA, rec(title="Hi {{first_name}}!", body="New picks.")])
    assert decision.action == "rewrite"
    assert decision.recommendation is not None
    assert decision.recommendation.title == "Hi Ana!"
    assert decision.recommendation.body == "New picks."


def test_greeting_repaired_but_a_tag_elsewhere_still_suppresses() -> None:
    decision = decide_last([ANA, rec(body="Hi {{first_name}}, your code is %PROMO_CODE%.")])
    assert decision.action == "suppress"
    assert codes(decision) == ["unresolved_placeholder"]


def test_first_name_from_a_later_profile_update_is_used() -> None:
    events = [ANA, profile(ts=T0 + days(1), first_name="Bea"), rec(body="Hi [First Name], hi.")]
    decision = decide_last(events)
    assert decision.recommendation is not None
    assert decision.recommendation.body == "Hi Bea, hi."


CLEAN_COPY = [
    pytest.param("Hi Ana, new picks for you.", id="a filled greeting"),
    pytest.param("Hello, new picks for you.", id="a neutral greeting"),
    pytest.param("Save 20% off, 50%-70% on selected items.", id="percent signs"),
    pytest.param("[NEW] arrivals [sale] today.", id="bracketed prose"),
    pytest.param("Made with <3 and <b>care</b>.", id="angle brackets that are not tags"),
    pytest.param('Data {"a": 1} stays.', id="json-like braces"),
]


@pytest.mark.parametrize("body", CLEAN_COPY)
def test_copy_without_merge_tags_is_not_touched(body: str) -> None:
    decision = decide_last([ANA, rec(body=body)])
    assert "unresolved_placeholder" not in codes(decision)
    assert decision.action == "deliver"
    assert decision.recommendation is not None
    assert decision.recommendation.body == body


def test_a_customer_named_like_a_null_word_is_not_a_placeholder() -> None:
    decision = decide_last([profile(first_name="Nan"), rec(body="Hi Nan, new picks.")])
    assert decision.action == "deliver"


# --- gift_purchase_signal --------------------------------------------------------------------


def gift_case(gift: bool, named: bool, seen: bool = True, ago: float = 10) -> list[Event]:
    bought = purchase(ts=NOON - days(ago), items=[("G-1", "toys/lego")], gift=gift)
    events: list[Event] = [bought] if seen else []
    based_on = [bought.event_id] if named else []
    events.append(rec(items=[("G-2", "toys/lego")], based_on=based_on))
    return events


GIFT = [
    pytest.param(
        gift_case(gift=True, named=True), True, id="based_on names a purchase marked gift"
    ),
    pytest.param(
        gift_case(gift=True, named=True, ago=200),
        True,
        id="based_on names a gift purchase made 200 days ago",
    ),
    pytest.param(gift_case(gift=False, named=True), False, id="based_on names a non-gift purchase"),
    pytest.param(
        gift_case(gift=True, named=False), False, id="a gift purchase not named in based_on"
    ),
    pytest.param(
        gift_case(gift=True, named=True, seen=False),
        False,
        id="a based_on id the guardrail has not seen",
    ),
]


@pytest.mark.parametrize(("events", "fires"), GIFT)
def test_gift_purchase_signal(events: list[Event], fires: bool) -> None:
    decision = decide_last(events)
    assert ("gift_purchase_signal" in codes(decision)) is fires
    assert decision.action == ("suppress" if fires else "deliver")


# --- undeclared_life_event -------------------------------------------------------------------

LIFE_EVENT = [
    pytest.param([], "wedding", True, id="life_event set and nothing declared"),
    pytest.param(
        [profile(declared_life_events=["moving"])],
        "wedding",
        True,
        id="life_event set and another one declared",
    ),
    pytest.param(
        [profile(declared_life_events=["wedding"])], "wedding", False, id="life_event declared"
    ),
    pytest.param(
        [profile(declared_life_events=["Wedding "])],
        "WEDDING",
        False,
        id="declared match is case-insensitive",
    ),
    pytest.param([], None, False, id="no life_event"),
    pytest.param(
        [profile(declared_life_events=["wedding"]), profile(ts=T0 + 1, first_name="Ana")],
        "wedding",
        False,
        id="a later partial profile update keeps the declared events",
    ),
    pytest.param(
        [profile(declared_life_events=["wedding"]), profile(ts=T0 + 1, declared_life_events=[])],
        "wedding",
        True,
        id="declared events replaced by an empty list",
    ),
    pytest.param(
        [profile(customer="c-other", declared_life_events=["wedding"])],
        "wedding",
        True,
        id="another customer's declaration does not count",
    ),
]


@pytest.mark.parametrize(("before", "life_event", "fires"), LIFE_EVENT)
def test_undeclared_life_event(before: list[Event], life_event: str | None, fires: bool) -> None:
    decision = decide_last([*before, rec(trigger="life_event", life_event=life_event)])
    assert ("undeclared_life_event" in codes(decision)) is fires
    assert decision.action == ("suppress" if fires else "deliver")
