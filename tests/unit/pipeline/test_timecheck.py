"""A ts in seconds is refused (ts_out_of_range); milliseconds of any plausible year pass."""

from __future__ import annotations

from guardrail.config import Settings
from guardrail.pipeline.timecheck import seconds_problem

DEFAULT = Settings().min_ts_ms


def test_a_time_in_seconds_is_refused_by_default() -> None:
    problem = seconds_problem(1_795_846_190, DEFAULT)
    assert problem == (
        "ts 1795846190 is below min_ts_ms=100000000000: a time in seconds, not epoch milliseconds?"
    )


def test_milliseconds_pass() -> None:
    for ts in (1_795_846_190_334, 100_000_000_000, 946_684_800_000):  # 2026, 1973, 2000
        assert seconds_problem(ts, DEFAULT) is None


def test_zero_turns_it_off() -> None:
    assert seconds_problem(5, 0) is None
