"""`guardrail export --since/--until`: ISO 8601 times, epoch ms, or durations before now."""

from __future__ import annotations

import pytest

from guardrail.tools.export import TimeError, parse_time

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("24h", NOW - 86_400_000),
        ("90m", NOW - 5_400_000),
        ("7d", NOW - 7 * 86_400_000),
        ("1d12h", NOW - 36 * 3_600_000),
        ("30s", NOW - 30_000),
        ("1767225600000", NOW),
        ("2026-01-01T00:00:00Z", NOW),
        ("2026-01-01T01:00:00+01:00", NOW),
        ("2026-01-01", NOW),  # no zone: UTC
    ],
)
def test_times(value: str, expected: int) -> None:
    assert parse_time(value, NOW) == expected


@pytest.mark.parametrize("value", ["yesterday", "h24", "24x", "2026-13-01", ""])
def test_bad_times_are_refused_with_the_forms_named(value: str) -> None:
    with pytest.raises(TimeError, match="ISO 8601 time, epoch ms, or a duration like 24h"):
        parse_time(value, NOW)
