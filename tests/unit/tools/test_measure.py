"""Measuring a run, shared by soak and bench: percentiles and /proc readings."""

from __future__ import annotations

import pytest

from guardrail.tools.measure import (
    parse_cpu_seconds,
    percentile,
    status_field_mb,
)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 50, 5.0),
        ([5.0], 99, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 0, 1.0),
        ([4.0, 1.0, 3.0, 2.0], 100, 4.0),
        (list(range(1, 101)), 99, 99.01),
    ],
)
def test_percentile_interpolates_between_ranks(
    values: list[float], q: float, expected: float
) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 99) is None


def test_percentile_outside_0_100_is_an_error() -> None:
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_memory_fields_are_read_in_megabytes() -> None:
    status = "Name:\tpython\nVmPeak:\t  900000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
    assert status_field_mb(status, "VmHWM") == 200.0
    assert status_field_mb(status, "VmRSS") == 100.0
    assert status_field_mb("Name:\tpython\n", "VmHWM") is None


def test_cpu_seconds_are_utime_plus_stime_even_with_spaces_in_the_name() -> None:
    fields = ["S", *["0"] * 10, "250", "50", *["0"] * 30]  # state, ..., utime, stime, ...
    stat = "1234 (python -m x) " + " ".join(fields)
    assert parse_cpu_seconds(stat, 100) == 3.0


@pytest.mark.parametrize(("q", "expected"), [(50, 50.5), (99, 99.01), (99.9, 99.901)])
def test_percentiles_of_1_to_100_interpolate(q: float, expected: float) -> None:
    assert percentile([float(v) for v in range(100, 0, -1)], q) == pytest.approx(expected)
