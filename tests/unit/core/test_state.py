"""Customer state: the changelog JSON round-trips, pruning keeps it bounded, erasure leaves
only the marker."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings

from factories import (
    T0,
    browsing,
    consent,
    days,
    hours,
    location,
    minutes,
    profile,
    purchase,
    rec,
    run,
)
from guardrail.core.records import Event
from guardrail.core.state import EMPTY_STATE, CustomerState, state_from_json, state_to_json
from strategies import CATEGORIES, CHANNELS, SKUS, event_streams


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_streams())
def test_state_json_round_trip_of_folded_streams(events: list[Event]) -> None:
    for state in run(events).states.values():
        assert state_from_json(state_to_json(state)) == state
        assert state_to_json(state_from_json(state_to_json(state))) == state_to_json(state)


def test_empty_state_round_trips_and_is_empty() -> None:
    assert state_from_json(state_to_json(EMPTY_STATE)) == EMPTY_STATE
    assert EMPTY_STATE.is_empty()


def test_round_trip_keeps_unicode_names_and_consent() -> None:
    result = run(
        [
            profile(
                first_name="Zoë",
                timezone="Asia/Tokyo",
                consent=consent(sensitive_categories=["health"]),
                channel_opt_outs=["sms"],
            ),
            location(place_name="Köln Hbf"),
            browsing(action="search", query="café ☕"),
        ]
    )
    state = result.state()
    assert state_from_json(state_to_json(state).decode()) == state


def test_unknown_state_version_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        state_from_json(b'{"v": 99}')


def a_year_of_events(n: int, seed: int = 7, purchases: float = 0.01) -> list[Event]:
    """``n`` events of one customer spread over a year, every kind, realistic mix."""
    rng = random.Random(seed)
    step = days(365) // n
    events: list[Event] = [profile(ts=T0, first_name="Ana", timezone="Europe/Berlin")]
    for i in range(n):
        ts = T0 + i * step
        kind = rng.random()
        item = (rng.choice(SKUS) + str(rng.randrange(50)), rng.choice(CATEGORIES))
        if kind < purchases:
            events.append(purchase(ts=ts, items=[item], gift=rng.random() < 0.1))
        elif kind < 0.45:
            events.append(
                browsing(
                    ts=ts,
                    action=rng.choice(("view", "search")),
                    category=item[1],
                    query=f"query {i}",
                )
            )
        elif kind < 0.6:
            events.append(location(ts=ts, place_name=f"Place {i}"))
        else:
            events.append(rec(ts=ts, items=[item], channel=rng.choice(CHANNELS), data_sources=[]))
    return events


def test_pruning_keeps_a_long_lived_customer_small() -> None:
    events = a_year_of_events(10_000)
    engine_run = run(events)
    state = engine_run.state()
    size = len(state_to_json(state))
    # A very heavy customer (27 events a day): every kind is at its cap, and no more
    # (50 browsing marks ~3 KB, 40 purchased items ~2 KB, 16 decision memos ~3 KB, 16
    # flagged sensitive browsing marks ~1 KB).
    assert size < 10_000, size
    assert state.clock == events[-1].ts
    # bounded by the policy's windows and limits
    assert len(state.browsing) <= 50
    assert len(state.places) <= 20
    assert len(state.recent) <= 16
    assert all(state.clock - d.ts < days(7) for d in state.deliveries)


def test_a_customer_buying_a_durable_every_day_stays_small() -> None:
    events = [purchase(ts=T0 + days(i), items=[(f"F-{i}", "furniture/chairs")]) for i in range(365)]
    assert len(state_to_json(run(events).state())) < 8_000


def test_pruning_drops_each_kind_past_its_window() -> None:
    events = [
        purchase(ts=T0, items=[("BK-1", "books/fiction")]),
        purchase(ts=T0, items=[("L-1", "electronics/laptops")]),
        browsing(ts=T0, category="books"),
        location(ts=T0, place_name="Alexanderplatz"),
        rec(ts=T0, data_sources=[]),
        profile(ts=T0 + days(40), first_name="Ana"),
    ]
    state = run(events).state()
    assert state.purchases == ()  # items are forgotten after a month...
    assert [b.root for b in state.bought] == ["electronics/laptops"]  # ...a durable's date is not
    assert state.browsing == ()
    assert state.places == ()
    assert state.deliveries == ()
    assert [m.rec_id for m in state.recent] == [events[4].rec_id]  # kept by count, not by age


def test_places_are_forgotten_after_a_day() -> None:
    events = [location(ts=T0, place_name="Alexanderplatz"), browsing(ts=T0 + hours(25))]
    assert run(events).state().places == ()
    events = [location(ts=T0, place_name="Alexanderplatz"), browsing(ts=T0 + hours(23))]
    assert len(run(events).state().places) == 1


def test_erasure_leaves_nothing_but_the_marker() -> None:
    events = [*a_year_of_events(500), profile(ts=T0 + days(366), erase=True)]
    state = run(events).state()
    assert state == CustomerState(clock=T0 + days(366), erased=True)
    assert not state.is_empty()
    assert len(state_to_json(state)) < 120


def test_new_consent_after_erasure_lifts_the_marker() -> None:
    events = [profile(erase=True), profile(ts=T0 + minutes(1), consent=consent())]
    state = run(events).state()
    assert not state.erased
    assert state.profile.consent == consent()
