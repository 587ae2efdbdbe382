"""The decoded-state memo: a customer seen again is not decoded again, and never decoded wrong."""

from __future__ import annotations

from guardrail.core.state import EMPTY_STATE, CustomerState, PlaceMark, state_to_json
from guardrail.pipeline.statememo import StateMemo

KEY = b"c-1"
ROOMY = 1_000_000  # bytes: room for every state of these tests


def state(clock: int, places: int = 1) -> CustomerState:
    marks = tuple(PlaceMark(clock + n, "Lyon") for n in range(places))
    return CustomerState(clock=clock, places=marks)


def test_the_state_encoded_for_a_customer_is_the_one_given_back_without_decoding() -> None:
    memo = StateMemo(ROOMY)
    data = memo.encode(0, KEY, state(5))
    assert memo.decode(0, KEY, data) is memo.decode(0, KEY, bytes(data))  # equal bytes: same


def test_bytes_that_differ_from_the_remembered_ones_are_decoded() -> None:
    # The store changed under the memo (a restore, a redelivery, another owner meanwhile).
    memo = StateMemo(ROOMY)
    memo.encode(0, KEY, state(5))
    assert memo.decode(0, KEY, state_to_json(state(9))) == state(9)
    assert memo.held == len(state_to_json(state(9)))  # the stale entry's bytes are gone


def test_nothing_stored_is_the_empty_state() -> None:
    assert StateMemo(ROOMY).decode(0, KEY, None) is EMPTY_STATE


def test_the_same_key_on_another_partition_is_another_customer() -> None:
    memo = StateMemo(ROOMY)
    memo.encode(0, KEY, state(5))
    assert memo.decode(1, KEY, state_to_json(state(7))) == state(7)


def test_the_memo_holds_at_most_its_budget_the_least_recently_used_going_first() -> None:
    one = len(state_to_json(state(1)))
    memo = StateMemo(2 * one)
    a = memo.encode(0, b"a", state(1))
    memo.encode(0, b"b", state(2))
    memo.decode(0, b"a", a)  # a used again: b is now the oldest
    memo.encode(0, b"c", state(3))
    assert set(memo._entries) == {(0, b"a"), (0, b"c")}
    assert memo.held == 2 * one


def test_a_state_larger_than_the_budget_is_not_kept_and_evicts_nothing() -> None:
    memo = StateMemo(len(state_to_json(state(1))))
    memo.encode(0, b"a", state(1))
    memo.encode(0, b"big", state(2, places=50))
    assert set(memo._entries) == {(0, b"a")}


def test_a_dropped_customer_and_a_forgotten_partition_leave_nothing_behind() -> None:
    memo = StateMemo(ROOMY)
    memo.encode(0, b"a", state(1))
    memo.encode(1, b"b", state(2))
    memo.encode(2, b"c", state(3))
    memo.drop(0, b"a")
    memo.forget({1})
    assert set(memo._entries) == {(2, b"c")}
    memo.forget()
    assert len(memo) == 0 and memo.held == 0


def test_a_memo_of_budget_0_remembers_nothing_and_still_decodes() -> None:
    memo = StateMemo(0)
    data = memo.encode(0, KEY, state(5))
    assert memo.decode(0, KEY, data) == state(5)
    assert len(memo) == 0
