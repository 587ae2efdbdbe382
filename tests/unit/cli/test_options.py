"""The shared options: one way to read a time, one way to read settings."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from guardrail.cli.main import main
from guardrail.cli.options import time_ms

NOW = 1_800_000_000_000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1700000000000", 1_700_000_000_000),
        ("2026-01-01T00:00:00", 1_767_225_600_000),
        ("2026-01-01T01:00:00+01:00", 1_767_225_600_000),
        ("24h", NOW - 86_400_000),
        (None, None),
    ],
)
def test_a_time_is_epoch_ms_iso_or_a_duration_ago(value: str | None, expected: int) -> None:
    assert time_ms(value, "--since", NOW) == expected


def test_a_bad_time_is_a_usage_error_naming_the_option() -> None:
    with pytest.raises(click.BadParameter, match="not an ISO 8601 time"):
        time_ms("yesterday", "--since", NOW)


@pytest.mark.parametrize("command", ["audit", "export", "explain"])
def test_every_command_reads_since_the_same_way(command: str) -> None:
    args = [command, "--since", "yesterday"] + (["--rec-id", "r"] if command == "explain" else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "Invalid value for --since" in result.stderr
    assert "not an ISO 8601 time" in result.stderr
