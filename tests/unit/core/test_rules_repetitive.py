"""Repetitive family: already_purchased, duplicate_recommendation, frequency_cap.

Each case is a stream of events ending in the recommendation under test, the action the
contract asks for, whether the rule fires, and (when delivered) the SKUs that are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from factories import (
    NOON,
    T0,
    codes,
    days,
    decide_last,
    hours,
    kept_skus,
    minutes,
    profile,
    purchase,
    rec,
)
from guardrail.core.records import Event

BOOK = ("BK-1", "books/fiction")
BOOK2 = ("BK-2", "books/fiction")


def check(
    events: Sequence[Event], code: str, fires: bool, action: str, kept: list[str] | None
) -> None:
    decision = decide_last(events)
    assert (code in codes(decision)) is fires, decision.reasons
    assert decision.action == action, decision.reasons
    if kept is not None:
        assert kept_skus(decision) == kept


def bought(category: str, ago: float, sku: str = "OLD-1", gift: bool = False) -> Event:
    return purchase(ts=NOON - days(ago), items=[(sku, category)], gift=gift)


def offer(*items: tuple[str, str], ts: int = NOON, channel: str = "email") -> Event:
    return rec(ts=ts, items=items, channel=channel)


# --- already_purchased -------------------------------------------------------------------

ALREADY_PURCHASED = [
    pytest.param(
        [bought("books/fiction", 29, sku="BK-1"), offer(BOOK, BOOK2)],
        True,
        "rewrite",
        ["BK-2"],
        id="sku bought in the last 30 days is dropped",
    ),
    pytest.param(
        [bought("books/fiction", 31, sku="BK-1"), offer(BOOK, BOOK2)],
        False,
        "deliver",
        ["BK-1", "BK-2"],
        id="sku bought 31 days ago is not",
    ),
    pytest.param(
        [bought("electronics/laptops", 364), offer(("L-2", "electronics/laptops"), BOOK)],
        True,
        "rewrite",
        ["BK-1"],
        id="durable category bought in the last 365 days",
    ),
    pytest.param(
        [bought("electronics/laptops", 366), offer(("L-2", "electronics/laptops"))],
        False,
        "deliver",
        ["L-2"],
        id="durable category bought 366 days ago is not",
    ),
    pytest.param(
        [bought("electronics/laptops", 100), offer(("L-2", "electronics/laptops/gaming"))],
        True,
        "suppress",
        None,
        id="a category below a durable one is covered (electronics/laptops/gaming)",
    ),
    pytest.param(
        [bought("electronics/laptops/gaming", 100), offer(("L-2", "electronics/laptops"))],
        True,
        "suppress",
        None,
        id="a purchase below a durable category covers the durable category",
    ),
    pytest.param(
        [bought("furniture", 100), offer(("F-2", "furniture-outlet/sofas"))],
        False,
        "deliver",
        ["F-2"],
        id="a sibling prefix is not (furniture-outlet vs furniture)",
    ),
    pytest.param(
        [bought("electronics/laptops", 100), offer(("X-2", "electronics/laptops-outlet"))],
        False,
        "deliver",
        ["X-2"],
        id="a sibling prefix is not (electronics/laptops-outlet vs electronics/laptops)",
    ),
    pytest.param(
        [bought("electronics/tv", 100), offer(("L-2", "electronics/laptops"))],
        False,
        "deliver",
        ["L-2"],
        id="another durable category is not",
    ),
    pytest.param(
        [bought("books/fiction", 5), offer(BOOK2)],
        False,
        "deliver",
        ["BK-2"],
        id="another sku of a category that is neither durable nor consumable is not",
    ),
    pytest.param(
        [bought("grocery/coffee", 20), offer(("COF-2", "grocery/coffee/beans"), BOOK)],
        True,
        "rewrite",
        ["BK-1"],
        id="consumable re-offered before its replenish interval",
    ),
    pytest.param(
        [bought("grocery/coffee", 31), offer(("COF-2", "grocery/coffee"))],
        False,
        "deliver",
        ["COF-2"],
        id="consumable after the interval is fine",
    ),
    pytest.param(
        [bought("household/detergent", 44), offer(("DT-2", "household/detergent"))],
        True,
        "suppress",
        None,
        id="detergent within its 45 day interval",
    ),
    pytest.param(
        [bought("household/detergent", 46), offer(("DT-2", "household/detergent"))],
        False,
        "deliver",
        ["DT-2"],
        id="detergent after its 45 day interval is fine",
    ),
    pytest.param(
        [bought("pet/food", 29), offer(("PF-2", "pet/food/cat"))],
        True,
        "suppress",
        None,
        id="pet food within its 30 day interval",
    ),
    pytest.param(
        [bought("books/fiction", 3, sku="BK-1", gift=True), offer(BOOK, BOOK2)],
        True,
        "rewrite",
        ["BK-2"],
        id="gift purchases still count",
    ),
    pytest.param(
        [
            bought("books/fiction", 3, sku="BK-1"),
            bought("books/fiction", 3, sku="BK-2"),
            offer(BOOK, BOOK2),
        ],
        True,
        "suppress",
        None,
        id="suppress when no item is left",
    ),
    pytest.param(
        [purchase(customer="c-other", ts=NOON - days(1), items=[BOOK]), offer(BOOK)],
        False,
        "deliver",
        ["BK-1"],
        id="another customer's purchase does not count",
    ),
    pytest.param(
        [offer(BOOK), bought("books/fiction", -1, sku="BK-1")],
        False,
        "deliver",
        ["BK-1"],
        id="a purchase not yet seen does not count",
    ),
]


@pytest.mark.parametrize(("events", "fires", "action", "kept"), ALREADY_PURCHASED)
def test_already_purchased(
    events: list[Event], fires: bool, action: str, kept: list[str] | None
) -> None:
    check(events, "already_purchased", fires, action, kept)


# --- duplicate_recommendation --------------------------------------------------------------

DUP = ("D-1", "books/fiction")
OTHER = ("X-1", "books/fiction")


def delivered(*items: tuple[str, str], day: float) -> Event:
    return offer(*items, ts=T0 + days(day) + hours(12))


DUPLICATE = [
    pytest.param(
        [delivered(DUP, day=0), delivered(DUP, day=1), delivered(DUP, OTHER, day=2)],
        True,
        "rewrite",
        ["X-1"],
        id="a sku delivered 2 times in the last 7 days is dropped",
    ),
    pytest.param(
        [delivered(DUP, day=0), delivered(DUP, OTHER, day=2)],
        False,
        "deliver",
        ["D-1", "X-1"],
        id="a sku delivered once is not",
    ),
    pytest.param(
        [delivered(DUP, day=0), delivered(DUP, day=1), delivered(DUP, day=8.5)],
        False,
        "deliver",
        ["D-1"],
        id="deliveries older than 7 days do not count",
    ),
    pytest.param(
        [delivered(DUP, day=0), delivered(DUP, day=1), delivered(DUP, day=2)],
        True,
        "suppress",
        None,
        id="suppress when no item is left",
    ),
    pytest.param(
        [
            rec(ts=T0 + hours(12), items=[DUP], life_event="wedding"),
            rec(ts=T0 + days(1), items=[DUP], life_event="wedding"),
            delivered(DUP, day=2),
        ],
        False,
        "deliver",
        ["D-1"],
        id="suppressed recommendations do not count",
    ),
    pytest.param(
        [
            purchase(ts=T0 - days(25), items=[DUP]),
            delivered(DUP, OTHER, day=0),
            delivered(DUP, OTHER, day=1),
            delivered(DUP, day=6),
        ],
        False,
        "deliver",
        ["D-1"],
        id="only the items a recommendation kept count",
    ),
    pytest.param(
        [
            rec(customer="c-other", ts=T0, items=[DUP]),
            rec(customer="c-other", ts=T0 + days(1), items=[DUP]),
            delivered(DUP, day=2),
        ],
        False,
        "deliver",
        ["D-1"],
        id="another customer's deliveries do not count",
    ),
]


@pytest.mark.parametrize(("events", "fires", "action", "kept"), DUPLICATE)
def test_duplicate_recommendation(
    events: list[Event], fires: bool, action: str, kept: list[str] | None
) -> None:
    check(events, "duplicate_recommendation", fires, action, kept)


# --- frequency_cap -------------------------------------------------------------------------


def sent(channel: str, at_hour: float, customer: str = "c-1", **kw: object) -> Event:
    return rec(
        customer=customer,
        ts=T0 + hours(at_hour),
        channel=channel,
        items=[(f"S-{at_hour}", "books/fiction")],
        **kw,  # type: ignore[arg-type]
    )


FREQUENCY_CAP = [
    pytest.param(
        [sent("email", 9), sent("in_app", 10), sent("ad", 11), sent("email", 12)],
        True,
        "suppress",
        id="3 recommendations in the last 24 h on any channels: the next is suppressed",
    ),
    pytest.param(
        [sent("email", 9), sent("in_app", 10), sent("email", 12)],
        False,
        "deliver",
        id="2 in the last 24 h: the next is delivered",
    ),
    pytest.param(
        [sent("email", 9), sent("in_app", 10), sent("ad", 11), sent("email", 35.5)],
        False,
        "deliver",
        id="3 more than 24 h ago do not count",
    ),
    pytest.param(
        [sent("email", 9), sent("in_app", 10), sent("ad", 11), sent("email", 32.5)],
        True,
        "suppress",
        id="the window is 24 h back from the recommendation's ts (23.5 h is inside)",
    ),
    pytest.param(
        [sent("push", 9), sent("push", 12)],
        True,
        "suppress",
        id="a push after 1 push in the last 24 h is suppressed",
    ),
    pytest.param(
        [sent("push", 9), sent("push", 33.5)],
        False,
        "deliver",
        id="a push 24.5 h after the last push is delivered",
    ),
    pytest.param(
        [sent("sms", 9), sent("sms", 12)],
        True,
        "suppress",
        id="an sms after 1 sms in the last 24 h is suppressed",
    ),
    pytest.param(
        [sent("push", 9), sent("sms", 12)],
        False,
        "deliver",
        id="an sms after 1 push is delivered (caps are per channel)",
    ),
    pytest.param(
        [sent("email", 9), sent("email", 10), sent("email", 12)],
        False,
        "deliver",
        id="email is uncapped per channel",
    ),
    pytest.param(
        [sent("in_app", 9), sent("in_app", 10), sent("in_app", 12)],
        False,
        "deliver",
        id="in_app is uncapped per channel",
    ),
    pytest.param(
        [sent("ad", 9), sent("ad", 10), sent("ad", 12)],
        False,
        "deliver",
        id="ad is uncapped per channel",
    ),
    pytest.param(
        [
            sent("email", 9, life_event="wedding"),
            sent("email", 10, life_event="wedding"),
            sent("email", 11, life_event="wedding"),
            sent("email", 12),
        ],
        False,
        "deliver",
        id="suppressed ones do not count toward the total",
    ),
    pytest.param(
        [sent("push", 9, life_event="wedding"), sent("push", 12)],
        False,
        "deliver",
        id="a suppressed push does not count toward the push cap",
    ),
    pytest.param(
        [
            sent("email", 9, body="Hi , picks."),
            sent("email", 10, body="Hi , picks."),
            sent("email", 11, body="Hi , picks."),
            sent("email", 12),
        ],
        True,
        "suppress",
        id="rewritten ones count",
    ),
    pytest.param(
        [sent("push", 22), sent("push", 46.5)],
        False,
        "rewrite",
        id="counted by ts, not by deliver_after (a push deferred to 08:00 the next day)",
    ),
    pytest.param(
        [
            sent("email", 9, customer="c-other"),
            sent("email", 10, customer="c-other"),
            sent("email", 11, customer="c-other"),
            sent("email", 12),
        ],
        False,
        "deliver",
        id="another customer's recommendations do not count",
    ),
]


@pytest.mark.parametrize(("events", "fires", "action"), FREQUENCY_CAP)
def test_frequency_cap(events: list[Event], fires: bool, action: str) -> None:
    check(events, "frequency_cap", fires, action, None)


def test_frequency_cap_counts_redelivered_recommendation_once() -> None:
    first = sent("email", 9)
    events = [first, first, first, sent("email", 12)]
    assert decide_last(events).action == "deliver"


def test_frequency_cap_detail_names_the_window() -> None:
    decision = decide_last([sent("push", 9), sent("push", 12)])
    assert decision.reasons[0].detail == "1 push in the last 24 h (max 1)"


def test_duplicate_detail_names_the_sku_and_window() -> None:
    decision = decide_last(
        [delivered(DUP, day=0), delivered(DUP, day=1), delivered(DUP, OTHER, day=2)]
    )
    assert decision.reasons[0].detail == "D-1 delivered 2 times in 7 days"


def test_already_purchased_keeps_profile_irrelevant() -> None:
    events = [profile(first_name="Ana"), bought("books/fiction", 1, sku="BK-1"), offer(BOOK)]
    assert decide_last(events).action == "suppress"


def test_consumable_interval_minutes_before_it_ends_still_fires() -> None:
    events = [
        purchase(ts=T0, items=[("COF-1", "grocery/coffee")]),
        rec(ts=T0 + days(30) - minutes(1), items=[("COF-2", "grocery/coffee")]),
    ]
    assert codes(decide_last(events)) == ["already_purchased"]
