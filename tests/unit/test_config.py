"""Settings: typos are refused with the closest name, errors name the variable, topics one by
one, `guardrail config show` masks secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from guardrail.cli.main import main
from guardrail.config import load_settings, unknown_variables
from guardrail.errors import ConfigError


def test_a_typo_in_a_variable_is_refused_with_the_closest_valid_name() -> None:
    env = {"GUARDRAIL_BOOTSTRAP_SERVER": "broker:9092"}
    with pytest.raises(ConfigError) as err:
        load_settings(environ=env)
    assert str(err.value) == (
        "bad settings: unknown setting GUARDRAIL_BOOTSTRAP_SERVER "
        "(did you mean GUARDRAIL_BOOTSTRAP_SERVERS?)"
    )


def test_known_variables_and_other_programs_variables_pass() -> None:
    env = {
        "GUARDRAIL_BOOTSTRAP_SERVERS": "b:9092",
        "GUARDRAIL_CACHE": "/tmp/cache",
        "GUARDRAIL_CHAOS_DAYS": "3",
        "PATH": "/bin",
    }
    assert unknown_variables(env) == []


def test_a_name_far_from_every_setting_gets_no_suggestion() -> None:
    assert unknown_variables({"GUARDRAIL_ZZZZZZZZZZZZ": "1"}) == [
        "unknown setting GUARDRAIL_ZZZZZZZZZZZZ"
    ]


def test_a_bad_value_names_the_variable_and_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDRAIL_PARTITIONS", "many")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith("bad settings: GUARDRAIL_PARTITIONS (--partitions): ")
    assert "many" not in str(err.value)


def test_each_topic_name_is_settable_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDRAIL_TOPIC_PREFIX", "acme.")
    monkeypatch.setenv("GUARDRAIL_TOPIC_PURCHASE", "shop.orders.v3")
    monkeypatch.setenv("GUARDRAIL_TOPIC_CHANGELOG", "guardrail-state")
    settings = load_settings()
    assert settings.topic("purchase") == "shop.orders.v3"
    assert settings.topic("browsing") == "acme.customer.browsing"  # the prefix still applies
    assert settings.input_topics()["purchase"] == "shop.orders.v3"
    assert settings.changelog_topic == "guardrail-state"


def test_a_topic_name_kafka_would_refuse_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDRAIL_TOPIC_APPROVED", "approved recs")
    with pytest.raises(ConfigError, match="GUARDRAIL_TOPIC_APPROVED"):
        load_settings()


def test_config_show_prints_every_setting_with_secrets_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GUARDRAIL_SASL_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("GUARDRAIL_SCHEMA_REGISTRY_URL", "https://svc:regpass@registry:8081")
    monkeypatch.setenv("GUARDRAIL_TOPICS", "verify")
    result = CliRunner().invoke(main, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output and "regpass" not in result.output
    lines = dict(line.split("=", 1) for line in result.output.splitlines())
    assert lines["GUARDRAIL_SASL_PASSWORD"] == "****"
    assert lines["GUARDRAIL_SCHEMA_REGISTRY_URL"] == "https://svc:****@registry:8081"
    assert lines["GUARDRAIL_TOPICS"] == "verify"
    assert lines["GUARDRAIL_METRICS_BIND"] == "127.0.0.1"
    assert "GUARDRAIL_TOPIC_PURCHASE" in lines


def test_config_show_refuses_a_typo_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDRAIL_METRICS_PROT", "9000")
    result = CliRunner().invoke(main, ["config", "show"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: bad settings: unknown setting GUARDRAIL_METRICS_PROT "
        "(did you mean GUARDRAIL_METRICS_PORT?)"
    )


def test_worker_help_points_to_config_show() -> None:
    result = CliRunner().invoke(main, ["worker", "--help"])
    assert "guardrail config show" in result.output


def test_a_missing_or_bad_tls_file_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GUARDRAIL_SSL_CAFILE", str(tmp_path / "ca.pem"))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value) == (
        f"bad settings: GUARDRAIL_SSL_CAFILE (--ssl-cafile): no such file: {tmp_path / 'ca.pem'}"
    )
    (tmp_path / "ca.pem").write_bytes(b"\x00\x01 not a certificate")
    with pytest.raises(ConfigError, match=r"ca\.pem is not a PEM file"):
        load_settings()
    (tmp_path / "ca.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    )
    assert load_settings().ssl_cafile == tmp_path / "ca.pem"
