"""Consent family: personalization_opt_out, channel_opt_out, erased; consent defaults, partial
profile updates and erasure semantics."""

from __future__ import annotations

import pytest

from factories import (
    T0,
    browsing,
    codes,
    consent,
    days,
    decide_last,
    hours,
    location,
    profile,
    purchase,
    rec,
    run,
)
from guardrail.core.records import Event
from guardrail.core.state import CustomerState

# --- channel_opt_out -------------------------------------------------------------------------

CHANNEL = [
    pytest.param(["push"], "push", True, id="the channel is in channel_opt_outs"),
    pytest.param(["push", "sms"], "sms", True, id="one of several opted-out channels"),
    pytest.param(["push"], "email", False, id="another channel is fine"),
    pytest.param([], "push", False, id="no opt-outs"),
]


@pytest.mark.parametrize(("opt_outs", "channel", "fires"), CHANNEL)
def test_channel_opt_out(opt_outs: list[str], channel: str, fires: bool) -> None:
    decision = decide_last([profile(channel_opt_outs=opt_outs), rec(channel=channel)])
    assert ("channel_opt_out" in codes(decision)) is fires
    assert decision.action == ("suppress" if fires else "deliver")


def test_channel_opt_out_also_suppresses_unpersonalized_recommendations() -> None:
    decision = decide_last([profile(channel_opt_outs=["email"]), rec(data_sources=[])])
    assert codes(decision) == ["channel_opt_out"]


def test_channel_opt_outs_can_be_lifted_by_an_empty_list() -> None:
    events = [
        profile(channel_opt_outs=["email"]),
        profile(ts=T0 + 1, channel_opt_outs=[]),
        rec(),
    ]
    assert decide_last(events).action == "deliver"


# --- personalization_opt_out -----------------------------------------------------------------

PERSONALIZATION = [
    pytest.param(False, ["purchase_history"], True, id="opted out and data_sources not empty"),
    pytest.param(False, ["profile"], True, id="opted out and only the profile used"),
    pytest.param(False, [], False, id="opted out but empty data_sources is not affected"),
    pytest.param(True, ["purchase_history"], False, id="personalization allowed"),
]


@pytest.mark.parametrize(("allowed", "sources", "fires"), PERSONALIZATION)
def test_personalization_opt_out(allowed: bool, sources: list[str], fires: bool) -> None:
    given = profile(consent=consent(personalization=allowed))
    decision = decide_last([given, rec(data_sources=sources)])
    assert ("personalization_opt_out" in codes(decision)) is fires
    assert decision.action == ("suppress" if fires else "deliver")


# --- consent defaults before any profile -----------------------------------------------------

DEFAULTS = [
    pytest.param(rec(data_sources=["purchase_history"]), None, id="personalization is on"),
    pytest.param(rec(trigger="location"), "location_trigger", id="location marketing is off"),
    pytest.param(rec(data_sources=["third_party"]), "third_party_data", id="third-party is off"),
    pytest.param(rec(items=[("H", "health")]), "sensitive_category", id="every group is off"),
]


@pytest.mark.parametrize(("offer", "code"), DEFAULTS)
def test_consent_defaults_before_any_profile_event(offer: Event, code: str | None) -> None:
    decision = decide_last([offer])
    assert codes(decision) == ([] if code is None else [code])


def test_profile_without_consent_keeps_the_consent_defaults() -> None:
    decision = decide_last([profile(first_name="Ana"), rec(trigger="location")])
    assert codes(decision) == ["location_trigger"]


# --- partial profile updates -----------------------------------------------------------------


def test_partial_profile_update_leaves_other_fields() -> None:
    result = run(
        [
            profile(
                ts=T0,
                first_name="Ana",
                timezone="Europe/Berlin",
                consent=consent(location_marketing=True),
                channel_opt_outs=["sms"],
                declared_life_events=["wedding"],
            ),
            profile(ts=T0 + hours(1), first_name="Anna"),
        ]
    )
    stored = result.state().profile
    assert stored.first_name == "Anna"
    assert stored.timezone == "Europe/Berlin"
    assert stored.consent == consent(location_marketing=True)
    assert stored.channel_opt_outs == ("sms",)
    assert stored.declared_life_events == ("wedding",)


def test_non_null_consent_replaces_the_stored_consent_as_a_whole() -> None:
    result = run(
        [
            profile(consent=consent(location_marketing=True, sensitive_categories=["health"])),
            profile(ts=T0 + 1, consent=consent(third_party_data=True)),
        ]
    )
    assert result.state().profile.consent == consent(third_party_data=True)


# --- erased and erasure semantics ------------------------------------------------------------

ERASE = profile(ts=T0 + days(1), erase=True)
AFTER = T0 + days(2)

ERASED = [
    pytest.param(
        [ERASE], ["purchase_history"], True, id="erasure asked and data_sources not empty"
    ),
    pytest.param([ERASE], [], False, id="empty data_sources is not affected"),
    pytest.param(
        [ERASE, profile(ts=T0 + days(1) + 1, first_name="Ana")],
        ["browsing"],
        True,
        id="a profile update without consent keeps the marker",
    ),
    pytest.param(
        [ERASE, profile(ts=T0 + days(1) + 1, consent=consent())],
        ["browsing"],
        False,
        id="new consent lifts the marker",
    ),
    pytest.param([], ["purchase_history"], False, id="no erasure asked"),
    pytest.param(
        [profile(customer="c-other", erase=True)],
        ["purchase_history"],
        False,
        id="another customer's erasure",
    ),
]


@pytest.mark.parametrize(("before", "sources", "fires"), ERASED)
def test_erased(before: list[Event], sources: list[str], fires: bool) -> None:
    decision = decide_last([*before, rec(ts=AFTER, data_sources=sources)])
    assert ("erased" in codes(decision)) is fires
    assert decision.action == ("suppress" if fires else "deliver")


def history() -> list[Event]:
    """A customer with something in every part of their state."""
    return [
        profile(
            ts=T0,
            first_name="Ana",
            timezone="Asia/Tokyo",
            consent=consent(location_marketing=True),
            channel_opt_outs=["sms"],
            declared_life_events=["wedding"],
        ),
        purchase(ts=T0 + hours(1), items=[("BK-1", "books/fiction")]),
        browsing(ts=T0 + hours(2), action="search", query="red boots"),
        location(ts=T0 + hours(3), place_name="Alexanderplatz"),
        rec(ts=T0 + hours(4), items=[("BK-9", "books/fiction")]),
    ]


def test_erasure_leaves_nothing_but_the_marker() -> None:
    state = run([*history(), ERASE]).state()
    assert state == CustomerState(clock=ERASE.ts, erased=True)


def test_after_erasure_the_first_name_is_forgotten() -> None:
    events = [*history(), ERASE, rec(ts=AFTER, body="Hi [First Name], picks.", data_sources=[])]
    decision = decide_last(events)
    assert decision.recommendation is not None
    assert decision.recommendation.body == "Hello, picks."


def test_after_erasure_past_purchases_deliveries_and_signals_are_forgotten() -> None:
    events = [
        *history(),
        ERASE,
        profile(ts=T0 + days(1) + 1, consent=consent()),
        rec(
            ts=AFTER,
            items=[("BK-1", "books/fiction")],
            channel="sms",
            body="Red boots near Alexanderplatz.",
            life_event=None,
        ),
    ]
    decision = decide_last(events)
    assert decision.action == "rewrite"  # only quiet hours: UTC default again, 00:00
    assert codes(decision) == ["quiet_hours"]


def test_after_erasure_consent_goes_back_to_the_defaults() -> None:
    events = [
        *history(),
        ERASE,
        profile(ts=T0 + days(1) + 1, consent=consent()),
        rec(ts=AFTER, trigger="location"),
    ]
    assert codes(decide_last(events)) == ["location_trigger"]


def test_later_events_build_new_state_from_nothing() -> None:
    events = [
        *history(),
        ERASE,
        purchase(ts=T0 + days(1) + hours(1), items=[("NEW-1", "books/fiction")]),
        rec(ts=AFTER, items=[("NEW-1", "books/fiction"), ("BK-1", "books/fiction")]),
    ]
    result = run(events)
    assert codes(result.last) == ["already_purchased", "erased"]
    assert result.last.action == "suppress"
    assert [p.sku for p in result.state().purchases] == ["NEW-1"]
    assert result.state().erased


def test_erased_and_a_stronger_rule_are_both_listed() -> None:
    opt_out = profile(ts=T0 + days(1) + 1, channel_opt_outs=["email"])
    events = [ERASE, opt_out, rec(ts=AFTER + hours(12))]
    assert codes(decide_last(events)) == ["channel_opt_out", "erased"]
