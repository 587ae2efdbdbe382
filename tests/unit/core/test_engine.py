"""The engine: action precedence, reason order, rule modes, policy_version, explanations,
redelivery, and rules that only use what the guardrail has seen."""

from __future__ import annotations

from typing import Any

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
    kept_skus,
    location,
    minutes,
    modes,
    policy_with,
    profile,
    purchase,
    rec,
    run,
)
from guardrail.core.engine import Engine, decide
from guardrail.core.policy import default_policy
from guardrail.core.reasons import REASON_CODES
from guardrail.core.records import Event, decision_to_json
from guardrail.core.state import EMPTY_STATE

LATE = at("2026-01-01T23:00:00+00:00")  # quiet hours in UTC

# --- precedence and reasons ------------------------------------------------------------------

PRECEDENCE = [
    pytest.param([rec()], "deliver", [], id="nothing fired: deliver"),
    pytest.param(
        [rec(ts=LATE, channel="push")], "rewrite", ["quiet_hours"], id="a rewrite beats deliver"
    ),
    pytest.param(
        [rec(ts=LATE, channel="push", life_event="wedding")],
        "suppress",
        ["undeclared_life_event", "quiet_hours"],
        id="suppress beats rewrite and the rewrite is still listed",
    ),
    pytest.param(
        [rec(body="Hi , picks.", data_sources=["social"], trigger="location")],
        "suppress",
        ["unresolved_placeholder", "location_trigger", "third_party_data"],
        id="every fired rule is listed even when a stronger action won",
    ),
]


@pytest.mark.parametrize(("events", "action", "reasons"), PRECEDENCE)
def test_action_precedence(events: list[Event], action: str, reasons: list[str]) -> None:
    decision = decide_last(events)
    assert decision.action == action
    assert codes(decision) == reasons
    if action == "suppress":
        assert decision.recommendation is None
        assert decision.explanation is None


def test_every_rule_that_fires_is_listed_in_contract_order() -> None:
    events: list[Event] = [
        purchase(ts=T0, items=[("A-1", "books/fiction")]),
        purchase(ts=T0, items=[("G-1", "toys")], gift=True, event_id="gift-1"),
        location(ts=T0 + hours(20), place_name="Alexanderplatz"),
        rec(ts=T0 + hours(20), channel="push", items=[("Z-1", "books")]),
        profile(
            ts=T0 + hours(21), consent=consent(personalization=False), channel_opt_outs=["push"]
        ),
        browsing(ts=LATE - minutes(5), category="books"),
        rec(
            ts=LATE,
            channel="push",
            trigger="browse",
            items=[("A-1", "books/fiction"), ("H-1", "pharmacy")],
            title="Hi {{first_name}}",
            body="Near Alexanderplatz? Deals inside. Read on.",
            data_sources=["location", "third_party"],
            based_on=["gift-1"],
            life_event="wedding",
            expires_at=LATE + hours(1),
        ),
    ]
    decision = decide_last(events)
    expected = [c for c in REASON_CODES if c not in ("duplicate_recommendation", "erased")]
    assert codes(decision) == expected
    assert decision.action == "suppress"


def test_duplicate_and_erased_are_listed_together_in_contract_order() -> None:
    sku = ("D-1", "books")
    events: list[Event] = [
        profile(ts=T0, erase=True),
        rec(ts=NOON, items=[sku], data_sources=[]),
        rec(ts=NOON + days(1), items=[sku], data_sources=[]),
        rec(ts=NOON + days(2), items=[sku], data_sources=["purchase_history"]),
    ]
    assert codes(decide_last(events)) == ["duplicate_recommendation", "erased"]


def test_dropping_all_items_through_two_rules_suppresses() -> None:
    events = [
        purchase(ts=T0, items=[("A-1", "books")]),
        rec(ts=T0 + days(1), items=[("B-1", "books")]),
        rec(ts=T0 + days(2), items=[("B-1", "books")]),
        rec(ts=T0 + days(3), items=[("A-1", "books"), ("B-1", "books")]),
    ]
    decision = decide_last(events)
    assert codes(decision) == ["already_purchased", "duplicate_recommendation"]
    assert decision.action == "suppress"


# --- modes -----------------------------------------------------------------------------------


def test_shadow_records_the_reason_and_changes_nothing() -> None:
    policy = modes(quiet_hours="shadow")
    offer = rec(ts=LATE, channel="push")
    decision = decide_last([offer], policy)
    assert decision.action == "deliver"
    assert [(r.code, r.shadow) for r in decision.reasons] == [("quiet_hours", True)]
    assert decision.recommendation is not None
    assert decision.recommendation.deliver_after is None
    assert decision.recommendation.model_copy(update={"guardrail": None}) == offer
    assert decision.recommendation.guardrail is not None
    assert decision.recommendation.guardrail.reasons == ()
    assert decision.recommendation.guardrail.action == "deliver"


def test_shadow_suppress_leaves_the_enforced_rewrite() -> None:
    policy = modes(undeclared_life_event="shadow")
    decision = decide_last([rec(ts=LATE, channel="push", life_event="wedding")], policy)
    assert decision.action == "rewrite"
    assert [(r.code, r.shadow) for r in decision.reasons] == [
        ("undeclared_life_event", True),
        ("quiet_hours", False),
    ]
    assert decision.recommendation is not None
    assert decision.recommendation.guardrail is not None
    assert decision.recommendation.guardrail.reasons == ("quiet_hours",)


def test_shadow_item_drop_keeps_the_items() -> None:
    policy = modes(already_purchased="shadow")
    events = [purchase(ts=T0, items=[("A-1", "books")]), rec(items=[("A-1", "books")])]
    decision = decide_last(events, policy)
    assert decision.action == "deliver"
    assert decision.recommendation is not None
    assert [i.sku for i in decision.recommendation.items] == ["A-1"]


def test_off_never_evaluates() -> None:
    policy = modes(quiet_hours="off")
    decision = decide_last([rec(ts=LATE, channel="push")], policy)
    assert decision.action == "deliver"
    assert decision.reasons == ()
    engine = Engine(policy)
    assert all("quiet_hours" not in [code for code, _, _ in v] for v in engine._variants)


def test_every_rule_off_delivers_everything() -> None:
    policy = modes(**dict.fromkeys(REASON_CODES, "off"))
    decision = decide_last(
        [
            rec(
                ts=LATE,
                channel="push",
                life_event="x",
                data_sources=["social"],
                body="Hi {{name}} at 2am",
            )
        ],
        policy,
    )
    assert decision.action == "deliver"
    assert decision.reasons == ()


# --- policy_version --------------------------------------------------------------------------


def test_policy_version_on_every_decision_and_on_guardrail() -> None:
    result = run([rec(), rec(ts=LATE, channel="push"), rec(life_event="x")])
    version = default_policy().version
    assert [d.policy_version for d in result.decisions] == [version] * 3
    approved = [d.recommendation for d in result.decisions if d.recommendation is not None]
    assert [r.guardrail.policy_version for r in approved if r.guardrail] == [version] * 2


def test_another_policy_stamps_another_version() -> None:
    policy = policy_with({"rules": {"frequency_cap": {"max_total": 5}}})
    decision = decide_last([rec()], policy)
    assert decision.policy_version == policy.version != default_policy().version


# --- explanation -----------------------------------------------------------------------------


def explained(*signals: Any, based_on: list[str] | None = None, **kw: object) -> str | None:
    ids = [s.event_id for s in signals] if based_on is None else based_on
    decision = decide_last([*signals, rec(ts=NOON + days(1), based_on=ids, **kw)])  # type: ignore[arg-type]
    if decision.recommendation is not None:
        assert decision.recommendation.guardrail is not None
        assert decision.recommendation.guardrail.explanation == decision.explanation
    return decision.explanation


EXPLANATIONS = [
    pytest.param(
        [purchase(items=[("L-1", "electronics/laptops")])],
        "Because you bought a laptop",
        id="a purchase in based_on",
    ),
    pytest.param(
        [browsing(category="shoes/boots")],
        "Because you viewed a boot",
        id="a browsing view in based_on",
    ),
    pytest.param(
        [purchase(items=[("L-1", "electronics/laptops")], gift=True)],
        None,
        id="a gift purchase is never named",
    ),
    pytest.param(
        [purchase(items=[("P-1", "pharmacy/cold")])], None, id="a sensitive category is never named"
    ),
    pytest.param(
        [location(place_name="Alexanderplatz")], None, id="a location event is never named"
    ),
    pytest.param([], None, id="null when based_on is empty"),
]


@pytest.mark.parametrize(("signals", "expected"), EXPLANATIONS)
def test_explanation(signals: list[Event], expected: str | None) -> None:
    assert explained(*signals) == expected


def test_explanation_never_names_a_search_query_a_place_or_a_time() -> None:
    signals = [
        browsing(action="search", category="shoes/boots", query="red velvet boots"),
        location(place_name="Alexanderplatz"),
        purchase(ts=T0 + hours(2) + minutes(13), items=[("C-1", "outdoor/tents")]),
    ]
    text = explained(*signals)
    assert text is not None
    for leak in ("velvet", "Alexanderplatz", "2:13", "02:13", "am"):
        assert leak not in text.split()


def test_explanation_is_null_when_suppressed() -> None:
    signals = [purchase(items=[("L-1", "electronics/laptops")])]
    assert explained(*signals, life_event="wedding") is None


def test_explanation_is_built_only_from_this_customers_events() -> None:
    theirs = purchase(customer="c-other", items=[("L-1", "electronics/laptops")])
    decision = decide_last([theirs, rec(based_on=[theirs.event_id])])
    assert decision.explanation is None


# --- redelivery and unseen information -------------------------------------------------------


def test_redelivery_gives_an_identical_decision_and_counts_once() -> None:
    offer = rec(channel="push")
    first = run([offer])
    again = run([offer], states=dict(first.states))
    assert decision_to_json(again.last) == decision_to_json(first.last)
    assert again.state() == first.state()


def test_redelivery_after_the_state_changed_still_gets_the_first_decision() -> None:
    offer = rec(ts=NOON, channel="push")
    result = run([offer, rec(ts=NOON + hours(1), channel="push"), offer])
    first, capped, again = result.decisions
    assert capped.action == "suppress"
    assert decision_to_json(again) == decision_to_json(first)
    assert len(result.state().deliveries) == 1


def test_a_rule_never_fires_on_information_not_seen() -> None:
    later_purchase = purchase(ts=NOON - days(1), items=[("A-1", "books")], gift=True)
    offer = rec(items=[("A-1", "books")], based_on=[later_purchase.event_id], trigger="browse")
    result = run([offer, later_purchase, browsing(ts=NOON - minutes(1))])
    assert result.decisions[0].action == "deliver"
    assert result.decisions[0].reasons == ()


def test_signals_decide_nothing() -> None:
    engine = Engine(default_policy())
    for signal in (purchase(), browsing(), location(), profile()):
        assert engine.decide(EMPTY_STATE, signal)[1] is None


def test_module_decide_equals_engine_decide() -> None:
    policy = default_policy()
    offer = rec(ts=LATE, channel="push")
    assert decide(EMPTY_STATE, offer, policy) == Engine(policy).decide(EMPTY_STATE, offer)


def test_a_different_record_under_a_remembered_rec_id_gets_the_remembered_decision() -> None:
    """A producer reusing a rec_id for another record (fewer items) must not break deciding."""
    bought = purchase(ts=T0, items=[("A-1", "books/fiction")])
    items = [("A-1", "books/fiction"), ("B-1", "toys"), ("D-1", "toys")]
    first = rec(rec_id="r-same", items=items)
    other = rec(rec_id="r-same", items=[("C-1", "toys")])
    result = run([bought, first, other])
    assert result.decisions[0].action == "rewrite"
    assert kept_skus(result.decisions[0]) == ["B-1", "D-1"]
    assert result.decisions[1].action == "rewrite"
    assert result.decisions[1].reasons == result.decisions[0].reasons
    assert kept_skus(result.decisions[1]) == []  # only the items it has that were kept
