"""Transactional messages: a recommendation with message_class "transactional" is exempt from
frequency_cap, duplicate_recommendation, too_soon and quiet_hours, and never counts toward caps
or duplicates. Every other rule applies to it."""

from __future__ import annotations

from factories import (
    NOON,
    T0,
    at,
    browsing,
    codes,
    days,
    decide_last,
    hours,
    location,
    minutes,
    profile,
    purchase,
    rec,
    run,
)
from guardrail.core.records import Event

BOOK = ("BK-1", "books/fiction")


def marketing(ts: int, channel: str = "email", items: list[tuple[str, str]] | None = None) -> Event:
    return rec(ts=ts, channel=channel, items=items or [(f"M-{ts}", "books/fiction")])


def transactional(ts: int = NOON, **kwargs: object) -> Event:
    return rec(ts=ts, message_class="transactional", **kwargs)  # type: ignore[arg-type]


def three_delivered() -> list[Event]:
    return [marketing(NOON - hours(3)), marketing(NOON - hours(2)), marketing(NOON - hours(1))]


def test_transactional_is_exempt_from_frequency_cap() -> None:
    decision = decide_last([*three_delivered(), transactional(items=[BOOK])])
    assert decision.action == "deliver"
    assert "frequency_cap" not in codes(decision)


def test_marketing_is_not_exempt_from_frequency_cap() -> None:
    decision = decide_last([*three_delivered(), rec(ts=NOON, items=[BOOK])])
    assert decision.action == "suppress"
    assert codes(decision) == ["frequency_cap"]


def test_transactional_is_exempt_from_duplicate_recommendation() -> None:
    earlier = [marketing(NOON - days(d), items=[BOOK]) for d in (3, 2)]
    decision = decide_last([*earlier, transactional(items=[BOOK])])
    assert decision.action == "deliver"
    assert codes(decision) == []
    marketing_again = decide_last([*earlier, rec(ts=NOON, items=[BOOK])])
    assert codes(marketing_again) == ["duplicate_recommendation"]


def test_transactional_is_exempt_from_too_soon() -> None:
    events = [browsing(ts=NOON - minutes(5), category="books"), transactional(trigger="cart")]
    decision = decide_last(events)
    assert decision.action == "deliver"
    assert decision.recommendation is not None
    assert decision.recommendation.deliver_after is None
    marketing_cart = decide_last([events[0], rec(ts=NOON, trigger="cart")])
    assert codes(marketing_cart) == ["too_soon"]


def test_a_transactional_push_at_23_30_local_is_delivered_with_no_quiet_hours() -> None:
    late = at("2026-01-01T23:30:00+01:00")  # 23:30 in Berlin
    events = [profile(ts=T0, timezone="Europe/Berlin"), transactional(ts=late, channel="push")]
    decision = decide_last(events)
    assert decision.action == "deliver"
    assert codes(decision) == []
    assert decision.recommendation is not None
    assert decision.recommendation.deliver_after is None


def test_a_marketing_push_at_23_30_local_is_deferred_by_quiet_hours() -> None:
    late = at("2026-01-01T23:30:00+01:00")
    events = [profile(ts=T0, timezone="Europe/Berlin"), rec(ts=late, channel="push")]
    decision = decide_last(events)
    assert codes(decision) == ["quiet_hours"]
    assert decision.recommendation is not None
    assert decision.recommendation.deliver_after == at("2026-01-02T08:00:00+01:00")


def test_transactional_never_counts_toward_caps() -> None:
    # Three transactional messages, then marketing: the cap of 3 is not reached.
    sent = [transactional(ts=NOON - hours(h), items=[(f"T-{h}", "books")]) for h in (3, 2, 1)]
    decision = decide_last([*sent, rec(ts=NOON, items=[BOOK])])
    assert decision.action == "deliver"
    assert codes(decision) == []


def test_transactional_never_counts_toward_duplicates() -> None:
    sent = [transactional(ts=NOON - hours(h), items=[BOOK]) for h in (3, 2, 1)]
    decision = decide_last([*sent, rec(ts=NOON, items=[BOOK])])
    assert codes(decision) == []
    assert run(sent).state().deliveries == ()


def test_transactional_push_does_not_use_the_push_channel_cap() -> None:
    sent = transactional(ts=NOON - hours(1), channel="push")
    decision = decide_last([sent, rec(ts=NOON, channel="push")])
    assert decision.action == "deliver"


def test_every_other_rule_applies_to_transactional() -> None:
    # already_purchased, sensitive_category and channel_opt_out are not exempt.
    bought = purchase(ts=NOON - days(2), items=[BOOK])
    dropped = decide_last([bought, transactional(items=[BOOK, ("BK-2", "books/fiction")])])
    assert codes(dropped) == ["already_purchased"]
    assert dropped.action == "rewrite"
    sensitive = decide_last([transactional(items=[("H-1", "pharmacy")])])
    assert codes(sensitive) == ["sensitive_category"]
    opted_out = decide_last(
        [profile(ts=T0, channel_opt_outs=["sms"]), transactional(channel="sms")]
    )
    assert codes(opted_out) == ["channel_opt_out"]
    assert opted_out.action == "suppress"


def test_a_transactional_message_leaves_the_state_for_a_later_arriving_earlier_one() -> None:
    # A recommendation can arrive after a transactional message with a later time (another
    # topic, a redelivery). Pruned to the transactional message's time, the state had forgotten
    # the place the customer was at, and the place went out in the copy.
    seen = location(ts=NOON - hours(1), place_name="Alexanderplatz")
    late = rec(ts=NOON, body="New boots are in. Great deals near Alexanderplatz.")
    without = decide_last([seen, late])
    with_one = decide_last([seen, transactional(ts=NOON + days(30)), late])
    assert "too_granular" in codes(without)
    assert with_one == without
