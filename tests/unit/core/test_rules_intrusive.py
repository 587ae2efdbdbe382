"""Intrusive family: sensitive_category, location_trigger, third_party_data, too_granular,
too_soon, quiet_hours."""

from __future__ import annotations

import pytest

from factories import (
    NOON,
    T0,
    at,
    browsing,
    codes,
    consent,
    days,
    decide_last,
    hours,
    location,
    minutes,
    profile,
    purchase,
    rec,
)
from guardrail.core.records import Event

# --- sensitive_category ----------------------------------------------------------------------

DEFAULT_GROUPS = [
    ("health", "health/vitamins"),
    ("health", "pharmacy"),
    ("reproductive", "baby/pregnancy/tests"),
    ("reproductive", "health/contraception"),
    ("reproductive", "baby/formula"),
    ("reproductive", "apparel/maternity"),
    ("sexuality", "adult/toys"),
    ("religion", "religion"),
    ("politics", "politics/books"),
    ("financial_hardship", "finance/debt"),
    ("financial_hardship", "finance/payday-loans"),
    ("financial_hardship", "finance/bankruptcy"),
]


@pytest.mark.parametrize(
    ("group", "category"), DEFAULT_GROUPS, ids=[f"{g}: {c}" for g, c in DEFAULT_GROUPS]
)
def test_sensitive_item_is_suppressed_unless_its_group_is_allowed(
    group: str, category: str
) -> None:
    offer = rec(items=[("S-1", category)])
    refused = decide_last([offer])
    assert refused.action == "suppress"
    assert codes(refused) == ["sensitive_category"]
    assert group in refused.reasons[0].detail
    # health/contraception lies in two groups (health and reproductive): both must be allowed.
    groups = [group, "health"] if category.startswith("health/") else [group]
    allowed = decide_last([profile(consent=consent(sensitive_categories=groups)), offer])
    assert allowed.action == "deliver"


SENSITIVE = [
    pytest.param([], ["health"], True, id="health/fertility: only health allowed still fires"),
    pytest.param([], ["reproductive"], True, id="health/fertility: only reproductive still fires"),
    pytest.param(
        [], ["health", "reproductive"], False, id="a category in two groups needs both allowed"
    ),
]


@pytest.mark.parametrize(("before", "allowed", "fires"), SENSITIVE)
def test_category_in_several_groups(before: list[Event], allowed: list[str], fires: bool) -> None:
    events = [
        *before,
        profile(consent=consent(sensitive_categories=allowed)),
        rec(items=[("F-1", "health/fertility/kits")]),
    ]
    assert ("sensitive_category" in codes(decide_last(events))) is fires


NOT_SENSITIVE = ["healthy-snacks", "baby/toys", "finance/savings", "apparel/shoes", "adulting"]


@pytest.mark.parametrize("category", NOT_SENSITIVE, ids=lambda c: f"not sensitive: {c}")
def test_categories_outside_every_group_are_not_sensitive(category: str) -> None:
    assert decide_last([rec(items=[("N-1", category)])]).action == "deliver"


def based_on_case(kind: str, category: str, seen: bool = True) -> list[Event]:
    signal: Event
    if kind == "purchase":
        signal = purchase(ts=NOON - days(2), items=[("B-1", category)])
    else:
        signal = browsing(ts=NOON - days(2), category=category)
    events: list[Event] = [signal] if seen else []
    events.append(rec(items=[("V-1", "health-food/vitamins")], based_on=[signal.event_id]))
    return events


BASED_ON = [
    pytest.param(
        based_on_case("purchase", "baby/pregnancy"),
        True,
        id="a based_on purchase's category counts",
    ),
    pytest.param(
        based_on_case("browsing", "pharmacy/cold"),
        True,
        id="a based_on browsing event's category counts",
    ),
    pytest.param(
        based_on_case("purchase", "books/fiction"),
        False,
        id="a based_on purchase outside every group",
    ),
    pytest.param(
        based_on_case("purchase", "baby/pregnancy", seen=False),
        False,
        id="unseen based_on ids do not fire",
    ),
]


@pytest.mark.parametrize(("events", "fires"), BASED_ON)
def test_sensitive_category_of_based_on_events(events: list[Event], fires: bool) -> None:
    decision = decide_last(events)
    assert ("sensitive_category" in codes(decision)) is fires
    assert decision.action == ("suppress" if fires else "deliver")


def test_sensitive_signal_not_in_based_on_does_not_count() -> None:
    events = [purchase(ts=NOON - days(1), items=[("P-1", "baby/pregnancy")]), rec()]
    assert decide_last(events).action == "deliver"


# --- location_trigger and third_party_data ---------------------------------------------------

LOCATION = [
    pytest.param("location", ["purchase_history"], None, True, id="trigger location, no consent"),
    pytest.param("batch", ["location"], None, True, id="data_sources holds location, no consent"),
    pytest.param(
        "location",
        ["location"],
        consent(location_marketing=True),
        False,
        id="location marketing consent given",
    ),
    pytest.param(
        "location",
        [],
        consent(location_marketing=False),
        True,
        id="location marketing explicitly refused",
    ),
    pytest.param(
        "batch",
        ["purchase_history", "browsing"],
        None,
        False,
        id="neither a location trigger nor a location source",
    ),
]


@pytest.mark.parametrize(("trigger", "sources", "given", "fires"), LOCATION)
def test_location_trigger(trigger: str, sources: list[str], given: object, fires: bool) -> None:
    before = [profile(consent=given)] if given is not None else []  # type: ignore[arg-type]
    decision = decide_last([*before, rec(trigger=trigger, data_sources=sources)])
    assert ("location_trigger" in codes(decision)) is fires
    assert decision.action == ("suppress" if fires else "deliver")


THIRD_PARTY = [
    pytest.param(["third_party"], False, True, id="third_party source without consent"),
    pytest.param(["social"], False, True, id="social source without consent (social too)"),
    pytest.param(["purchase_history", "social"], True, False, id="third-party consent given"),
    pytest.param(
        ["purchase_history", "inferred", "profile"], False, False, id="first-party sources only"
    ),
]


@pytest.mark.parametrize(("sources", "consented", "fires"), THIRD_PARTY)
def test_third_party_data(sources: list[str], consented: bool, fires: bool) -> None:
    given = profile(consent=consent(third_party_data=consented))
    decision = decide_last([given, rec(data_sources=sources)])
    assert ("third_party_data" in codes(decision)) is fires
    assert decision.action == ("suppress" if fires else "deliver")


# --- too_granular ----------------------------------------------------------------------------

KEEP = "New boots are in."

GRANULAR = [
    pytest.param([], "We noticed you like hiking.", True, id="we noticed you"),
    pytest.param([], "We saw you in the shoe aisle.", True, id="we saw you"),
    pytest.param([], "You were near our store.", True, id="you were near"),
    pytest.param([], "You were at the gym.", True, id="you were at"),
    pytest.param([], "You were in town.", True, id="you were in"),
    pytest.param([], "You just viewed these boots.", True, id="you just viewed"),
    pytest.param([], "You searched for boots.", True, id="you searched"),
    pytest.param([], "You browsed our boots.", True, id="you browsed"),
    pytest.param([], "You looked at these twice.", True, id="you looked at"),
    pytest.param([], "Still thinking about it at 2:13?", True, id="a clock time 2:13"),
    pytest.param([], "Up at 2am again?", True, id="a clock time 2am"),
    pytest.param(
        [location(ts=NOON - hours(2), place_name="Alexanderplatz")],
        "Great deals near Alexanderplatz.",
        True,
        id="a place name from the customer's location events",
    ),
    pytest.param(
        [location(customer="c-other", ts=NOON - hours(2), place_name="Alexanderplatz")],
        "Great deals near Alexanderplatz.",
        False,
        id="a place name from another customer's location events is not",
    ),
    pytest.param(
        [browsing(ts=NOON - days(3), action="search", query="waterproof boots")],
        "Waterproof boots for every trail.",
        True,
        id="one of the customer's own search queries",
    ),
    pytest.param(
        [
            browsing(
                customer="c-other", ts=NOON - days(3), action="search", query="waterproof boots"
            )
        ],
        "Waterproof boots for every trail.",
        False,
        id="another customer's search query is not",
    ),
    pytest.param(
        [], "Price $2.13 per pair, 16:9 screens.", False, id="prices and ratios are not clock times"
    ),
    pytest.param([], "You will love these.", False, id="plain copy"),
]


@pytest.mark.parametrize(("before", "sentence", "fires"), GRANULAR)
def test_too_granular_drops_the_offending_sentence(
    before: list[Event], sentence: str, fires: bool
) -> None:
    decision = decide_last([*before, rec(body=f"{KEEP} {sentence}")])
    assert ("too_granular" in codes(decision)) is fires
    assert decision.recommendation is not None
    if fires:
        assert decision.action == "rewrite"
        assert decision.recommendation.body == KEEP
        assert "Alexanderplatz" not in decision.reasons[0].detail
        assert "boots" not in decision.reasons[0].detail
    else:
        assert decision.action == "deliver"
        assert decision.recommendation.body == f"{KEEP} {sentence}"


def test_too_granular_suppresses_when_no_sentence_is_left() -> None:
    decision = decide_last([rec(body="We noticed you at 2am. You just viewed boots.")])
    assert decision.action == "suppress"
    assert codes(decision) == ["too_granular"]


def test_too_granular_scrubs_the_title_too() -> None:
    decision = decide_last([rec(title="We saw you looking", body=KEEP)])
    assert decision.action == "rewrite"
    assert decision.recommendation is not None
    assert decision.recommendation.body == KEEP
    assert not decision.recommendation.title


# --- too_soon --------------------------------------------------------------------------------

SOON = [
    pytest.param("browse", 29, True, id="browse trigger, latest browsing 29 minutes old"),
    pytest.param("browse", 31, False, id="browse trigger, latest browsing 31 minutes old"),
    pytest.param("cart", 10, True, id="cart trigger, latest browsing 10 minutes old"),
    pytest.param("batch", 1, False, id="batch trigger is never too soon"),
    pytest.param("purchase", 1, False, id="purchase trigger is never too soon"),
]


@pytest.mark.parametrize(("trigger", "age_minutes", "fires"), SOON)
def test_too_soon(trigger: str, age_minutes: int, fires: bool) -> None:
    seen = browsing(ts=NOON - minutes(age_minutes), category="shoes/boots")
    decision = decide_last([seen, rec(trigger=trigger, channel="email")])
    assert ("too_soon" in codes(decision)) is fires
    assert decision.recommendation is not None
    if fires:
        assert decision.action == "rewrite"
        assert decision.recommendation.deliver_after == seen.ts + minutes(30)
    else:
        assert decision.action == "deliver"
        assert decision.recommendation.deliver_after is None


def test_too_soon_uses_the_latest_browsing_event() -> None:
    events = [
        browsing(ts=NOON - minutes(50)),
        browsing(ts=NOON - minutes(5)),
        rec(trigger="browse"),
    ]
    decision = decide_last(events)
    assert decision.recommendation is not None
    assert decision.recommendation.deliver_after == NOON + minutes(25)


def test_too_soon_without_any_browsing_does_not_fire() -> None:
    assert decide_last([rec(trigger="browse")]).action == "deliver"


# --- quiet_hours -----------------------------------------------------------------------------

QUIET = [
    pytest.param(
        None,
        "2026-01-01T22:00:00+00:00",
        "2026-01-02T08:00:00+00:00",
        id="22:00 UTC by default: next 08:00 local",
    ),
    pytest.param(
        None, "2026-01-01T21:00:00+00:00", "2026-01-02T08:00:00+00:00", id="21:00 is quiet"
    ),
    pytest.param(
        None,
        "2026-01-01T07:59:00+00:00",
        "2026-01-01T08:00:00+00:00",
        id="07:59 defers to 08:00 the same day",
    ),
    pytest.param(None, "2026-01-01T08:00:00+00:00", None, id="08:00 is not quiet"),
    pytest.param(None, "2026-01-01T20:59:00+00:00", None, id="20:59 is not quiet"),
    pytest.param(
        "Europe/Berlin",
        "2026-01-01T20:30:00+00:00",
        "2026-01-02T07:00:00+00:00",
        id="Europe/Berlin in winter: 21:30 local",
    ),
    pytest.param(
        "Europe/Berlin",
        "2026-07-01T19:30:00+00:00",
        "2026-07-02T06:00:00+00:00",
        id="Europe/Berlin in summer: 21:30 local",
    ),
    pytest.param(
        "America/New_York",
        "2026-01-02T02:00:00+00:00",
        "2026-01-02T13:00:00+00:00",
        id="America/New_York: 21:00 local the previous day",
    ),
    pytest.param(
        "America/New_York",
        "2026-01-01T20:00:00+00:00",
        None,
        id="America/New_York: 15:00 local is fine",
    ),
    pytest.param(
        "America/New_York",
        "2026-03-08T05:00:00+00:00",
        "2026-03-08T12:00:00+00:00",
        id="DST day (spring forward in New York): 08:00 EDT",
    ),
    pytest.param(
        "America/New_York",
        "2026-11-01T04:30:00+00:00",
        "2026-11-01T13:00:00+00:00",
        id="DST day (fall back in New York): 08:00 EST",
    ),
    pytest.param(
        "Europe/Berlin",
        "2026-03-29T00:30:00+00:00",
        "2026-03-29T06:00:00+00:00",
        id="DST day (spring forward in Berlin): 08:00 CEST",
    ),
    pytest.param(
        "Asia/Kolkata",
        "2026-01-01T16:00:00+00:00",
        "2026-01-02T02:30:00+00:00",
        id="a half-hour offset zone: 21:30 IST",
    ),
]


@pytest.mark.parametrize(("zone", "send", "wake"), QUIET)
@pytest.mark.parametrize("channel", ["push", "sms"])
def test_quiet_hours(channel: str, zone: str | None, send: str, wake: str | None) -> None:
    before = [profile(ts=T0 - days(1), timezone=zone)] if zone else []
    decision = decide_last([*before, rec(ts=at(send), channel=channel)])
    assert ("quiet_hours" in codes(decision)) is (wake is not None)
    assert decision.recommendation is not None
    expected = None if wake is None else at(wake)
    assert decision.recommendation.deliver_after == expected


@pytest.mark.parametrize("channel", ["email", "in_app", "ad"])
def test_quiet_hours_do_not_affect_other_channels(channel: str) -> None:
    decision = decide_last([rec(ts=at("2026-01-01T23:00:00+00:00"), channel=channel)])
    assert decision.action == "deliver"


def test_quiet_hours_use_the_effective_send_time_after_a_too_soon_deferral() -> None:
    seen = browsing(ts=at("2026-01-01T20:40:00+00:00"))
    decision = decide_last(
        [seen, rec(ts=at("2026-01-01T20:45:00+00:00"), trigger="browse", channel="push")]
    )
    assert codes(decision) == ["too_soon", "quiet_hours"]
    assert decision.recommendation is not None
    assert decision.recommendation.deliver_after == at("2026-01-02T08:00:00+00:00")


def test_too_soon_deferral_that_ends_before_21_00_is_not_quiet() -> None:
    seen = browsing(ts=at("2026-01-01T20:00:00+00:00"))
    decision = decide_last(
        [seen, rec(ts=at("2026-01-01T20:10:00+00:00"), trigger="cart", channel="push")]
    )
    assert codes(decision) == ["too_soon"]


def test_quiet_hours_use_a_deliver_after_the_recommendation_came_with() -> None:
    offer = rec(
        ts=at("2026-01-01T12:00:00+00:00"),
        channel="sms",
        deliver_after=at("2026-01-01T23:30:00+00:00"),
    )
    decision = decide_last([offer])
    assert decision.recommendation is not None
    assert decision.recommendation.deliver_after == at("2026-01-02T08:00:00+00:00")


def test_a_later_timezone_update_is_used() -> None:
    events = [
        profile(timezone="Asia/Tokyo"),
        profile(ts=T0 + 1, first_name="Ana"),
        rec(ts=at("2026-01-01T13:00:00+00:00"), channel="push"),  # 22:00 in Tokyo
    ]
    assert codes(decide_last(events)) == ["quiet_hours"]
