"""Priority under the cap (frequency_cap.reserved_slots / reserve_min_priority) and expiry
(expired: the final send time after every deferral is later than expires_at)."""

from __future__ import annotations

import pytest

from factories import (
    NOON,
    T0,
    at,
    browsing,
    codes,
    decide_last,
    hours,
    minutes,
    policy_with,
    profile,
    rec,
)
from guardrail.core.records import Event

RESERVED = policy_with({"rules": {"frequency_cap": {"reserved_slots": 1, "max_total": 3}}})


def got(n: int) -> list[Event]:
    """The customer already got ``n`` recommendations in the last 24 h (email, top priority)."""
    return [
        rec(ts=NOON - hours(n - i), items=[(f"G-{i}", "books")], priority=100) for i in range(n)
    ]


def offer(priority: int) -> Event:
    return rec(ts=NOON, priority=priority, items=[("P-1", "books/fiction")])


@pytest.mark.parametrize(
    ("already", "priority", "capped"),
    [
        pytest.param(1, 50, False, id="priority 50 after 1 in 24 h is delivered"),
        pytest.param(2, 50, True, id="priority 50 is capped once the customer got 2 in 24 h"),
        pytest.param(2, 79, True, id="priority 79 is below reserve_min_priority 80"),
        pytest.param(2, 80, False, id="priority 80 may use the reserved slot"),
        pytest.param(2, 90, False, id="a priority-90 cart reminder after 2 is delivered"),
        pytest.param(3, 90, True, id="a priority-90 cart reminder is capped once they got 3"),
    ],
)
def test_reserved_slots_keep_the_last_of_max_total_for_high_priority(
    already: int, priority: int, capped: bool
) -> None:
    decision = decide_last([*got(already), offer(priority)], RESERVED)
    assert (decision.action == "suppress") is capped
    assert ("frequency_cap" in codes(decision)) is capped


def test_the_detail_names_the_reservation() -> None:
    decision = decide_last([*got(2), offer(50)], RESERVED)
    (reason,) = decision.reasons
    assert reason.code == "frequency_cap"
    assert "reserved for priority >= 80" in reason.detail
    assert "priority 50" in reason.detail


def test_without_reserved_slots_priority_changes_nothing() -> None:
    assert decide_last([*got(2), offer(10)]).action == "deliver"
    assert codes(decide_last([*got(3), offer(100)])) == ["frequency_cap"]


def test_reserve_min_priority_is_a_setting() -> None:
    policy = policy_with(
        {"rules": {"frequency_cap": {"reserved_slots": 1, "reserve_min_priority": 95}}}
    )
    assert decide_last([*got(2), offer(90)], policy).action == "suppress"
    assert decide_last([*got(2), offer(95)], policy).action == "deliver"


# --- expired ---------------------------------------------------------------------------------

LATE = at("2026-01-01T22:00:00+00:00")  # in quiet hours (UTC)
WAKE = at("2026-01-02T08:00:00+00:00")


def flash(ts: int, expires_at: int | None, channel: str = "push", **kw: object) -> Event:
    return rec(ts=ts, channel=channel, expires_at=expires_at, **kw)  # type: ignore[arg-type]


def test_a_sale_ends_tonight_push_deferred_to_08_00_is_never_sent() -> None:
    decision = decide_last(
        [flash(LATE, at("2026-01-01T23:59:00+00:00"), title="Sale ends tonight")]
    )
    assert decision.action == "suppress"
    assert codes(decision) == ["quiet_hours", "expired"]
    assert decision.recommendation is None
    assert "2026-01-02T08:00:00Z" in decision.reasons[1].detail


def test_a_deferral_that_ends_exactly_at_expires_at_is_not_expired() -> None:
    decision = decide_last([flash(LATE, WAKE)])
    assert decision.action == "rewrite"
    assert codes(decision) == ["quiet_hours"]
    assert decision.recommendation is not None
    assert decision.recommendation.deliver_after == WAKE


def test_one_ms_after_expires_at_is_expired() -> None:
    assert codes(decide_last([flash(LATE, WAKE - 1)])) == ["quiet_hours", "expired"]


def test_expired_counts_every_deferral_too_soon_then_quiet_hours() -> None:
    at_2040 = at("2026-01-01T20:40:00+00:00")
    events = [browsing(ts=at_2040 - minutes(5), category="books"), flash(at_2040, None)]
    # too_soon defers to 21:05, which quiet hours defer to 08:00.
    deferred = decide_last([events[0], flash(at_2040, WAKE - 1, trigger="browse")])
    assert codes(deferred) == ["too_soon", "quiet_hours", "expired"]
    only_too_soon = decide_last(
        [events[0], flash(at_2040, at_2040 + minutes(30), trigger="browse", channel="email")]
    )
    assert codes(only_too_soon) == ["too_soon"]  # 21:05 is before 21:10
    assert decide_last(events).action == "deliver"


def test_no_expires_at_never_expires() -> None:
    decision = decide_last([flash(LATE, None)])
    assert codes(decision) == ["quiet_hours"]


def test_an_offer_sent_at_once_before_expiry_is_not_expired() -> None:
    assert decide_last([flash(NOON, NOON + hours(1))]).action == "deliver"


def test_an_offer_proposed_after_it_expired_is_expired() -> None:
    decision = decide_last([flash(NOON, NOON - 1, channel="email")])
    assert codes(decision) == ["expired"]
    assert decision.action == "suppress"


def test_a_shadow_quiet_hours_deferral_does_not_count_toward_expiry() -> None:
    policy = policy_with({"rules": {"quiet_hours": {"mode": "shadow"}}})
    decision = decide_last([profile(ts=T0), flash(LATE, LATE + hours(1))], policy)
    assert decision.action == "deliver"
    assert [(r.code, r.shadow) for r in decision.reasons] == [("quiet_hours", True)]


def test_more_reserved_slots_than_max_total_is_refused() -> None:
    from guardrail.errors import PolicyError

    with pytest.raises(PolicyError, match=r"reserved_slots \(4\) exceeds max_total \(3\)"):
        policy_with({"rules": {"frequency_cap": {"reserved_slots": 4}}})
