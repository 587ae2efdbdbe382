"""Every command fails the same way: one `Error:` line on stderr, the area's exit code."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from confluent_kafka import KafkaError, KafkaException

from guardrail.cli.errors import GuardedGroup
from guardrail.cli.main import main
from guardrail.errors import (
    AuditError,
    ConfigError,
    GuardrailError,
    InputError,
    KafkaUnavailable,
    LocalStackError,
    PolicyError,
    TopicError,
)
from guardrail.kafka.replay import ReplayTimeout
from guardrail.kafka.serde import DecodeError
from guardrail.worker.process import WorkerFailed

AREAS = [
    pytest.param(PolicyError("policy p.yaml: 1 problem(s): rules.x: unknown key"), 1, id="policy"),
    pytest.param(ConfigError("bad settings: partitions: too small"), 1, id="settings"),
    pytest.param(InputError("line 3: not valid JSON"), 1, id="input"),
    pytest.param(DecodeError("missing_field", "purchase ts: Field required"), 1, id="record"),
    pytest.param(TopicError("customer.purchases has 4 partitions, not 8"), 1, id="topics"),
    pytest.param(KafkaUnavailable("cannot reach 127.0.0.1:1"), 1, id="kafka"),
    pytest.param(ReplayTimeout("3 of 10 decisions after 5 s"), 1, id="replay timeout"),
    pytest.param(
        KafkaException(KafkaError(KafkaError._TRANSPORT, "broker down")), 1, id="kafka client"
    ),
    pytest.param(LocalStackError("java not found"), 1, id="local stack"),
    pytest.param(WorkerFailed("worker exited (1)", "line 1\nline 2"), 1, id="worker"),
    pytest.param(AuditError("topic x does not exist"), 2, id="audit"),
]


def failing_cli(exc: BaseException) -> click.Group:
    @click.group(cls=GuardedGroup)
    def cli() -> None:
        pass

    @cli.group()
    def area() -> None:
        pass

    @area.command()
    def run() -> None:
        raise exc

    return cli


@pytest.mark.parametrize(("exc", "code"), AREAS)
def test_an_expected_failure_is_one_error_line_and_its_exit_code(
    exc: BaseException, code: int
) -> None:
    result = CliRunner().invoke(failing_cli(exc), ["area", "run"])
    assert result.exit_code == code
    first, *rest = result.stderr.splitlines()
    assert first.startswith("Error: ") and len(first) > len("Error: ")
    assert "Traceback" not in result.stderr
    detail = getattr(exc, "detail", None)
    assert rest == (detail.splitlines() if detail else [])


def test_a_kafka_client_error_says_what_kafka_said() -> None:
    exc = KafkaException(KafkaError(KafkaError._TRANSPORT, "broker down"))
    result = CliRunner().invoke(failing_cli(exc), ["area", "run"])
    assert result.stderr.strip() == "Error: Kafka: broker down"


def test_ctrl_c_exits_130_with_one_line() -> None:
    result = CliRunner().invoke(failing_cli(KeyboardInterrupt()), ["area", "run"])
    assert (result.exit_code, result.stderr) == (130, "interrupted\n")


def test_a_bug_keeps_its_traceback() -> None:
    result = CliRunner().invoke(failing_cli(ZeroDivisionError("bug")), ["area", "run"])
    assert isinstance(result.exception, ZeroDivisionError)


def test_every_area_derives_from_the_one_root() -> None:
    for param in AREAS:
        exc = param.values[0]
        assert isinstance(exc, GuardrailError | KafkaException)


# --- the real commands ---------------------------------------------------------------------


@pytest.fixture
def bad_policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text("rules:\n  frequency_cap:\n    max_totl: 5\n    mode: loud\n")
    return path


def one_error_line(result: click.testing.Result) -> str:
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def test_replay_with_a_bad_policy(bad_policy: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("")
    result = CliRunner().invoke(main, ["replay", "--policy", str(bad_policy), str(events)])
    assert result.exit_code == 1
    line = one_error_line(result)
    assert str(bad_policy) in line and "2 problem(s)" in line
    assert "rules.frequency_cap.max_totl: unknown key" in line


def test_worker_with_a_bad_policy_stops_before_kafka(bad_policy: Path) -> None:
    result = CliRunner().invoke(
        main, ["worker", "--policy", str(bad_policy), "--bootstrap-servers", "127.0.0.1:1"]
    )
    assert result.exit_code == 1
    assert str(bad_policy) in one_error_line(result)


@pytest.mark.parametrize("command", [["worker"], ["audit"], ["replay", "--kafka", "-"]])
def test_bad_settings_name_the_setting_not_its_value(command: list[str]) -> None:
    env = {"GUARDRAIL_STORE": "s3://secret-bucket", "GUARDRAIL_MAX_HOLD_MS": "-5"}
    result = CliRunner().invoke(main, command, env=env, input="")
    assert result.exit_code == 1
    line = one_error_line(result)
    assert line.startswith("Error: bad settings: ")
    assert (
        "GUARDRAIL_STORE (--store): " in line and "GUARDRAIL_MAX_HOLD_MS (--max-hold-ms): " in line
    )
    assert "secret-bucket" not in line
