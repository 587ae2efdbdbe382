"""Properties of the decision core over generated streams of a few customers, SKUs and
categories: determinism, replay in pieces with the state carried over through its changelog
JSON, suppressed and transactional recommendations never counting toward caps or duplicates,
and a stable holdout group."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import profile, rec
from guardrail.core.engine import Engine, in_holdout
from guardrail.core.policy import Policy, default_policy, policy_from_mapping
from guardrail.core.records import (
    Decision,
    Event,
    Profile,
    Recommendation,
    decision_to_json,
)
from guardrail.core.replay import Replayer
from guardrail.core.state import (
    EMPTY_STATE,
    CustomerState,
    state_from_json,
    state_to_json,
)
from strategies import CHANNELS, CUSTOMERS, event_streams, items

POLICY = default_policy()
PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# The caps property is about rules, not about how many rec_ids fit in the redelivery memo: the
# suppressed extras must not push a real recommendation's memo out (both are by count).
ROOMY = policy_from_mapping({"state": {"max_remembered_rec_ids": 10_000}}, "<roomy memo>")
# Every v2 setting in play: half the customers held out, a reserved slot under the cap.
V2 = policy_from_mapping(
    {
        "holdout": {"percent": 50, "salt": "prop"},
        "rules": {"frequency_cap": {"reserved_slots": 1}},
        "state": {"max_remembered_rec_ids": 10_000},
    },
    "<v2>",
)


def replay(
    events: list[Event], states: dict[str, CustomerState] | None = None, policy: Policy = POLICY
) -> list[str]:
    replayer = Replayer(policy, states)
    out: list[str] = []
    for event in events:
        decision = replayer.apply(event)
        if decision is not None:
            out.append(decision_to_json(decision))
    return out


@PROPERTY
@given(event_streams())
def test_decide_is_deterministic(events: list[Event]) -> None:
    engine_a, engine_b = Engine(POLICY), Engine(POLICY)
    states_a: dict[str, CustomerState] = {}
    states_b: dict[str, CustomerState] = {}
    for event in events:
        before = states_a.get(event.customer_id, EMPTY_STATE)
        assert before == states_b.get(event.customer_id, EMPTY_STATE)
        state_a, decision_a = engine_a.decide(before, event)
        state_b, decision_b = engine_b.decide(before, event)
        again, decision_again = engine_a.decide(before, event)
        assert state_to_json(state_a) == state_to_json(state_b) == state_to_json(again)
        # What the decoded-state memo relies on: the bytes give back the very state.
        assert state_from_json(state_to_json(state_a)) == state_a
        assert _json(decision_a) == _json(decision_b) == _json(decision_again)
        states_a[event.customer_id] = state_a
        states_b[event.customer_id] = state_b


def _json(decision: Decision | None) -> str | None:
    return None if decision is None else decision_to_json(decision)


@PROPERTY
@given(event_streams(), st.data(), st.sampled_from([POLICY, V2]))
def test_replay_in_two_halves_through_the_changelog_equals_one_go(
    events: list[Event], data: st.DataObject, policy: Policy
) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(events)))
    whole = replay(events, policy=policy)
    first: dict[str, CustomerState] = {}
    decisions = replay(events[:cut], first, policy)
    changelog = {customer: state_to_json(state) for customer, state in first.items()}
    restored = {customer: state_from_json(blob) for customer, blob in changelog.items()}
    decisions += replay(events[cut:], restored, policy)
    assert decisions == whole


Streams = tuple[list[Event], list[Event], set[str]]


@st.composite
def streams_with_suppressed_extras(draw: st.DrawFn) -> Streams:
    """A stream; the same stream with extra recommendations on a channel every customer opted
    out of (``ad``), so they are guaranteed suppressed; and the extras' rec_ids."""
    events = draw(event_streams())
    opt_out: list[Event] = [
        profile(customer, events[0].ts - 1, channel_opt_outs=["ad"]) for customer in CUSTOMERS
    ]
    base = [*opt_out, *(e for e in events if not _is_ad(e) and not _lifts_opt_outs(e))]
    extended: list[Event] = list(opt_out)
    extra_ids: set[str] = set()
    for event in base[len(opt_out) :]:
        if draw(st.integers(0, 2)) == 0:
            extra = rec(
                customer=draw(st.sampled_from(CUSTOMERS)),
                ts=event.ts,
                channel="ad",
                items=draw(
                    st.sampled_from(
                        [[("SKU-0", "books/fiction")], [("SKU-1", "toys"), ("SKU-2", "furniture")]]
                    )
                ),
            )
            extra_ids.add(extra.rec_id)
            extended.append(extra)
        extended.append(event)
    return base, extended, extra_ids


def _is_ad(event: Event) -> bool:
    return isinstance(event, Recommendation) and event.channel == "ad"


def _lifts_opt_outs(event: Event) -> bool:
    # An erasure or a new opt-out list would lift the ad opt-out: leave those out.
    return isinstance(event, Profile) and (event.erase or event.channel_opt_outs is not None)


@PROPERTY
@given(streams_with_suppressed_extras())
def test_suppressed_recommendations_never_count_toward_caps_or_duplicates(
    streams: Streams,
) -> None:
    base, extended, extra_ids = streams
    without = replay(base, policy=ROOMY)
    replayer = Replayer(ROOMY)
    others: list[str] = []
    for event in extended:
        decision = replayer.apply(event)
        if decision is None:
            continue
        if decision.rec_id in extra_ids:
            assert decision.action == "suppress"
            assert "channel_opt_out" in [r.code for r in decision.reasons]
        else:
            others.append(decision_to_json(decision))
    assert others == without


def _erases(event: Event) -> bool:
    return isinstance(event, Profile) and event.erase


@PROPERTY
@given(event_streams(), st.data())
def test_redelivered_events_change_nothing(events: list[Event], data: st.DataObject) -> None:
    """At-least-once delivery: after a crash or a rebalance, a worker reads again every event
    after the last committed offset, on a state that may already hold their effects (the
    changelog got further than the commit). Replaying such a tail again must give the first
    decisions again, byte for byte, and leave later decisions as they were.

    Erasure is the one exception the contract forces (it keeps nothing, not even what was
    decided), so tails that cross an erasure request are left out here."""
    done = data.draw(st.integers(min_value=0, max_value=len(events)), label="processed")
    committed = data.draw(st.integers(min_value=0, max_value=done), label="committed")
    if any(_erases(e) for e in events[committed:done]):
        return
    whole = replay(events)
    states: dict[str, CustomerState] = {}
    first = replay(events[:done], states)
    restored = {customer: state_from_json(state_to_json(s)) for customer, s in states.items()}
    again = replay(events[committed:], restored)
    decided_before = sum(1 for e in events[:committed] if isinstance(e, Recommendation))
    assert first + again[done_recs(events, committed, done) :] == whole
    assert again == whole[decided_before:]


def done_recs(events: list[Event], committed: int, done: int) -> int:
    return sum(1 for e in events[committed:done] if isinstance(e, Recommendation))


@st.composite
def streams_with_transactional_extras(draw: st.DrawFn) -> Streams:
    """A stream; the same stream with extra transactional recommendations (any channel, SKUs
    the stream also recommends) between its events; and the extras' rec_ids."""
    base = draw(event_streams())
    extended: list[Event] = []
    extra_ids: set[str] = set()
    for event in base:
        if draw(st.integers(0, 1)) == 0:
            extra = rec(
                customer=draw(st.sampled_from(CUSTOMERS)),
                ts=event.ts,
                channel=draw(st.sampled_from(CHANNELS)),
                trigger=draw(st.sampled_from(("purchase", "cart", "browse"))),
                items=draw(items),
                message_class="transactional",
                data_sources=(),
            )
            extra_ids.add(extra.rec_id)
            extended.append(extra)
        extended.append(event)
    return base, extended, extra_ids


EXEMPT = {"frequency_cap", "duplicate_recommendation", "too_soon", "quiet_hours"}


@PROPERTY
@given(streams_with_transactional_extras(), st.sampled_from([ROOMY, V2]))
def test_transactional_recommendations_never_change_a_later_decision(
    streams: Streams, policy: Policy
) -> None:
    base, extended, extra_ids = streams
    without = replay(base, policy=policy)
    replayer = Replayer(policy)
    others: list[str] = []
    for event in extended:
        decision = replayer.apply(event)
        if decision is None:
            continue
        if decision.rec_id in extra_ids:
            assert not EXEMPT & {r.code for r in decision.reasons}
        else:
            others.append(decision_to_json(decision))
    assert others == without


@PROPERTY
@given(
    st.lists(st.text(max_size=24), min_size=1, max_size=30),
    st.text(max_size=12),
    st.floats(min_value=0, max_value=100, allow_nan=False),
)
def test_holdout_membership_is_the_contract_hash_and_the_same_every_time(
    customers: list[str], salt: str, percent: float
) -> None:
    holdout = policy_from_mapping({"holdout": {"percent": percent, "salt": salt}}).holdout
    again = policy_from_mapping({"holdout": {"percent": percent, "salt": salt}}).holdout
    for customer in customers:
        digest = hashlib.sha256((salt + customer).encode("utf-8")).hexdigest()
        expected = int(digest[:8], 16) % 10000 < percent * 100
        assert in_holdout(customer, holdout) is expected
        assert in_holdout(customer, again) is expected


@PROPERTY
@given(event_streams())
def test_the_holdout_flag_is_the_same_in_every_run(events: list[Event]) -> None:
    first = [json.loads(d) for d in replay(events, policy=V2)]
    second = [json.loads(d) for d in replay(events, policy=V2)]
    assert [d["holdout"] for d in first] == [d["holdout"] for d in second]
    for decision in first:
        assert decision["holdout"] is in_holdout(decision["customer_id"], V2.holdout)


def test_holdout_membership_is_the_same_in_another_process() -> None:
    """Stable across runs: another interpreter (another hash seed) puts the same customers in."""
    customers = [f"cust-{i}" for i in range(500)] + ["ünï", "", "c 1"]
    code = (
        "import json, sys\n"
        "from guardrail.core.engine import in_holdout\n"
        "from guardrail.core.policy import policy_from_mapping\n"
        "h = policy_from_mapping({'holdout': {'percent': 37.5, 'salt': 's'}}).holdout\n"
        "print(json.dumps([in_holdout(c, h) for c in json.load(sys.stdin)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(customers),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    here = policy_from_mapping({"holdout": {"percent": 37.5, "salt": "s"}}).holdout
    assert json.loads(out.stdout) == [in_holdout(c, here) for c in customers]
