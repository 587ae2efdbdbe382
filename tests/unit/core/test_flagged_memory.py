"""Flagged memory: a browsing event in a sensitive category, and a gift or sensitive purchase,
is remembered for based_on look-ups as long as flagged purchases are (365 days by default), so a
recommendation built on it still fires sensitive_category or gift_purchase_signal months
later."""

from __future__ import annotations

import pytest

from factories import NOON, browsing, codes, days, decide_last, policy_with, purchase, rec, run
from guardrail.core.records import Recommendation
from guardrail.core.state import state_from_json, state_to_json


def built_on(event_id: str) -> Recommendation:
    return rec(ts=NOON, items=[("V-1", "books")], based_on=[event_id], data_sources=["browsing"])


@pytest.mark.parametrize(
    ("ago", "fires"),
    [(55, True), (364, True), (366, False)],
    ids=["55 days ago", "364 days ago", "366 days ago"],
)
def test_a_sensitive_browse_is_remembered_for_the_flagged_window(ago: float, fires: bool) -> None:
    seen = browsing(ts=NOON - days(ago), category="health/vitamins", event_id="b-health")
    decision = decide_last([seen, built_on("b-health")])
    assert ("sensitive_category" in codes(decision)) is fires
    assert decision.action == ("suppress" if fires else "deliver")


def test_an_ordinary_browse_is_forgotten_after_the_browsing_window() -> None:
    seen = browsing(ts=NOON - days(55), category="books", event_id="b-books")
    result = run([seen, built_on("b-books")])
    assert result.last.action == "deliver"
    assert result.state().flagged == ()
    assert result.state().browsing == ()


def test_a_gift_purchase_months_ago_still_fires_gift_purchase_signal() -> None:
    gift = purchase(ts=NOON - days(200), items=[("G-1", "toys")], gift=True, event_id="p-gift")
    decision = decide_last([gift, rec(based_on=["p-gift"])])
    assert codes(decision) == ["gift_purchase_signal"]


def test_a_sensitive_purchase_months_ago_still_fires_sensitive_category() -> None:
    bought = purchase(ts=NOON - days(200), items=[("H-1", "pharmacy")], event_id="p-health")
    decision = decide_last([bought, rec(based_on=["p-health"])])
    assert codes(decision) == ["sensitive_category"]


def test_flagged_memory_is_bounded_by_count() -> None:
    policy = policy_with({"state": {"max_flagged_browsing": 3}})
    views = [browsing(ts=NOON - days(60 - i), category="pharmacy") for i in range(10)]
    state = run(views, policy).state()
    assert [f.event_id for f in state.flagged] == [v.event_id for v in views[-3:]]


def test_flagged_memory_window_is_the_flagged_purchase_window() -> None:
    policy = policy_with({"state": {"flagged_purchase_memory_days": 90}})
    seen = browsing(ts=NOON - days(100), category="pharmacy", event_id="b-old")
    assert decide_last([seen, built_on("b-old")], policy).action == "deliver"


def test_flagged_marks_survive_the_state_round_trip_and_erasure_forgets_them() -> None:
    from factories import profile

    seen = browsing(ts=NOON - days(40), category="adult/toys", event_id="b-x")
    state = run([seen]).state()
    assert len(state.flagged) == 1
    assert state_from_json(state_to_json(state)) == state
    erased = run([seen, profile(ts=NOON, erase=True)]).state()
    assert erased.flagged == ()


def test_a_redelivered_sensitive_browse_is_remembered_once() -> None:
    seen = browsing(ts=NOON - days(40), category="pharmacy", event_id="b-1")
    state = run([seen, rec(ts=NOON), seen]).state()
    assert len(state.flagged) == 1


def test_a_state_written_before_flagged_memory_still_reads() -> None:
    old = (
        b'{"v":1,"c":5,"e":false,"p":[null,null,null,[],[]],'
        b'"pu":[],"bo":[],"b":[],"pl":[],"d":[],"r":[]}'
    )
    assert state_from_json(old).flagged == ()
