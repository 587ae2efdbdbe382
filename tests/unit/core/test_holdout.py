"""Holdout: a stable share of customers for whom the listed rules are recorded as shadow
(action unchanged) and the Decision carries holdout: true. Only frequency_cap,
duplicate_recommendation, too_soon and already_purchased may be listed."""

from __future__ import annotations

import hashlib

import pytest

from factories import NOON, T0, codes, days, decide_last, hours, policy_with, profile, purchase, rec
from guardrail.core.engine import Engine, in_holdout
from guardrail.core.policy import default_policy
from guardrail.core.reasons import HOLDOUT_ALLOWED, REASON_CODES
from guardrail.errors import PolicyError

EVERYONE = policy_with({"holdout": {"percent": 100, "salt": "s"}})
NOBODY = policy_with({"holdout": {"percent": 0, "salt": "s"}})
HALF = policy_with({"holdout": {"percent": 50, "salt": "exp-1"}})


def contract_hash(salt: str, customer_id: str, percent: float) -> bool:
    """The contract's membership rule, word for word."""
    return (
        int(hashlib.sha256((salt + customer_id).encode("utf-8")).hexdigest()[:8], 16) % (10000)
        < percent * 100
    )


@pytest.mark.parametrize("percent", [0, 0.5, 10, 33.3, 50, 99.99, 100])
def test_membership_is_the_contracts_hash(percent: float) -> None:
    holdout = policy_with({"holdout": {"percent": percent, "salt": "exp-1"}}).holdout
    customers = [f"c-{i}" for i in range(2000)] + ["ünï-çødé", ""]
    assert [in_holdout(c, holdout) for c in customers] == [
        contract_hash("exp-1", c, percent) for c in customers
    ]


def test_membership_share_is_close_to_the_percent() -> None:
    members = sum(in_holdout(f"c-{i}", HALF.holdout) for i in range(10_000))
    assert 4_800 < members < 5_200


def test_the_salt_reshuffles_the_group() -> None:
    other = policy_with({"holdout": {"percent": 50, "salt": "exp-2"}}).holdout
    customers = [f"c-{i}" for i in range(1000)]
    assert [in_holdout(c, HALF.holdout) for c in customers] != [
        in_holdout(c, other) for c in customers
    ]


def capped() -> list:  # type: ignore[type-arg]
    return [rec(ts=NOON - hours(h), items=[(f"S-{h}", "books")]) for h in (3, 2, 1)]


def test_held_out_rules_are_recorded_as_shadow_and_the_action_is_unchanged() -> None:
    decision = decide_last([*capped(), rec(ts=NOON)], EVERYONE)
    assert decision.action == "deliver"
    assert decision.holdout is True
    assert [(r.code, r.shadow) for r in decision.reasons] == [("frequency_cap", True)]
    assert decision.recommendation is not None
    assert decision.recommendation.guardrail is not None
    assert decision.recommendation.guardrail.reasons == ()


def test_treated_customers_are_capped_and_not_marked() -> None:
    decision = decide_last([*capped(), rec(ts=NOON)], NOBODY)
    assert decision.action == "suppress"
    assert decision.holdout is False
    assert codes(decision) == ["frequency_cap"]


def test_already_purchased_is_held_out() -> None:
    events = [
        purchase(ts=NOON - days(2), items=[("BK-1", "books")]),
        rec(items=[("BK-1", "books")]),
    ]
    decision = decide_last(events, EVERYONE)
    assert decision.action == "deliver"
    assert [(r.code, r.shadow) for r in decision.reasons] == [("already_purchased", True)]


def test_a_holdout_customers_consent_rules_are_still_enforced() -> None:
    events = [
        profile(ts=T0, channel_opt_outs=["email"]),
        rec(items=[("H-1", "pharmacy")], data_sources=["third_party"]),
    ]
    decision = decide_last(events, EVERYONE)
    assert decision.action == "suppress"
    assert decision.holdout is True
    assert [(r.code, r.shadow) for r in decision.reasons] == [
        ("sensitive_category", False),
        ("third_party_data", False),
        ("channel_opt_out", False),
    ]


def test_only_the_listed_rules_are_held_out() -> None:
    policy = policy_with({"holdout": {"percent": 100, "rules": ["too_soon"]}})
    decision = decide_last([*capped(), rec(ts=NOON)], policy)
    assert decision.action == "suppress"
    assert decision.reasons[0].shadow is False


def test_holdout_deliveries_count_toward_later_caps() -> None:
    # The holdout customer got all four: the fourth counts too (they were sent).
    result = decide_last([*capped(), rec(ts=NOON), rec(ts=NOON + 1)], EVERYONE)
    assert result.reasons[0].detail.startswith("4 recommendations")


def test_a_redelivered_holdout_decision_is_the_same() -> None:
    again = rec(ts=NOON, rec_id="r-same")
    engine = Engine(EVERYONE)
    from guardrail.core.state import EMPTY_STATE

    state, first = engine.decide(EMPTY_STATE, again)
    _, second = engine.decide(state, again)
    assert first == second
    assert second is not None and second.holdout


@pytest.mark.parametrize(
    "code", [c for c in REASON_CODES if c not in HOLDOUT_ALLOWED], ids=lambda c: str(c)
)
def test_policy_validation_refuses_holding_out_other_rules(code: str) -> None:
    with pytest.raises(PolicyError, match=rf"holdout\.rules: .*{code} may not be held out"):
        policy_with({"holdout": {"percent": 5, "rules": ["frequency_cap", code]}})


def test_the_four_holdable_rules_are_accepted() -> None:
    policy = policy_with({"holdout": {"percent": 5, "rules": list(HOLDOUT_ALLOWED)}})
    assert set(policy.holdout.rules) == {
        "frequency_cap",
        "duplicate_recommendation",
        "too_soon",
        "already_purchased",
    }


@pytest.mark.parametrize("percent", [-1, 100.5])
def test_percent_out_of_range_is_refused(percent: float) -> None:
    with pytest.raises(PolicyError, match=r"holdout\.percent"):
        policy_with({"holdout": {"percent": percent}})


def test_by_default_nobody_is_held_out() -> None:
    assert default_policy().holdout.percent == 0
    assert decide_last([*capped(), rec(ts=NOON)]).holdout is False
