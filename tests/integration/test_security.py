"""SASL_SSL end to end, and secrets kept out of logs and help texts.

A dedicated broker (not the session one) gets a second listener, SASL/PLAIN over TLS, with a
freshly generated CA and broker certificate (``guardrail.devstack.tls``). A worker and
``guardrail replay --kafka`` connect through it with hostname checking on; then the worker's
INFO log, the replay's output and the ``--help`` texts are scanned for the password.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from guardrail.config import Settings
from guardrail.devstack.kafka import LocalKafka, SaslSslListener
from guardrail.devstack.tls import make_test_pki
from guardrail.generate.stream import GeneratorConfig, generate_lines
from guardrail.worker.process import WorkerProcess, settings_env
from kafka_helpers import PASSWORD, USER, secure_settings

pytestmark = pytest.mark.integration


def _guardrail(args: list[str], env: dict[str, str], timeout: float = 180) -> tuple[int, str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "guardrail", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result.returncode, result.stdout, result.stderr


def test_settings_never_show_the_password() -> None:
    settings = Settings(sasl_username=USER, sasl_password=PASSWORD)  # type: ignore[arg-type]
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings.model_dump())
    assert PASSWORD not in repr(SaslSslListener(1, Path("k.pem"), {USER: PASSWORD}))


def test_help_texts_never_show_the_password() -> None:
    env = {"GUARDRAIL_SASL_USERNAME": USER, "GUARDRAIL_SASL_PASSWORD": PASSWORD}
    for command in (["--help"], ["worker", "--help"], ["replay", "--help"], ["audit", "--help"]):
        code, out, err = _guardrail(command, env, timeout=60)
        assert code == 0, err
        assert PASSWORD not in out + err, command


def test_worker_and_replay_over_sasl_ssl(
    secure_broker: tuple[LocalKafka, Path], tmp_path: Path, runtime: str
) -> None:
    broker, ca_file = secure_broker
    settings = secure_settings(broker, ca_file, tmp_path / "worker", runtime=runtime)
    events = tmp_path / "events.jsonl"
    config = GeneratorConfig(seed=5, customers=40, events=300, recommendation_share=0.3)
    events.write_text("\n".join(generate_lines(config)) + "\n")
    wanted = sum(json.loads(line)["type"] == "recommendation" for line in events.open())
    log_path = tmp_path / "worker.log"
    with WorkerProcess(settings, log_path, loglevel="info").start(timeout=120):
        env = settings_env(settings)
        code, out, err = _guardrail(["replay", "--kafka", "--timeout", "120", str(events)], env)
        assert code == 0, err[-2000:]
    decisions = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(decisions) == wanted > 0
    assert {d["action"] for d in decisions} <= {"deliver", "rewrite", "suppress"}
    log = log_path.read_text(errors="replace")
    assert "Worker]: Ready" in log
    assert PASSWORD not in log
    assert PASSWORD not in out + err
    # Kafka's own log must hide the JAAS config too (it is a password-type setting).
    assert PASSWORD not in broker.log_file.read_text(errors="replace")


def test_wrong_password_is_refused_and_not_echoed(
    secure_broker: tuple[LocalKafka, Path], tmp_path: Path
) -> None:
    broker, ca_file = secure_broker
    wrong = f"Wrong-{uuid.uuid4().hex[:10]}"
    settings = secure_settings(broker, ca_file, tmp_path / "w", sasl_password=wrong)
    events = tmp_path / "one.jsonl"
    events.write_text("\n".join(generate_lines(GeneratorConfig(events=5))) + "\n")
    code, out, err = _guardrail(
        ["replay", "--kafka", "--timeout", "5", str(events)], settings_env(settings), timeout=120
    )
    assert code != 0
    assert wrong not in out + err
    assert PASSWORD not in out + err


def test_untrusted_certificate_is_refused(
    secure_broker: tuple[LocalKafka, Path], tmp_path: Path
) -> None:
    broker, _ = secure_broker
    other_ca = make_test_pki(tmp_path / "other").ca_file  # a CA that did not sign the broker
    settings = secure_settings(broker, other_ca, tmp_path / "w")
    events = tmp_path / "one.jsonl"
    events.write_text("\n".join(generate_lines(GeneratorConfig(events=5))) + "\n")
    code, out, err = _guardrail(
        ["replay", "--kafka", "--timeout", "5", str(events)], settings_env(settings), timeout=120
    )
    assert code != 0
    assert PASSWORD not in out + err


def test_worker_with_a_wrong_password_says_authentication_failed(
    secure_broker: tuple[LocalKafka, Path], tmp_path: Path
) -> None:
    broker, ca_file = secure_broker
    wrong = f"Wrong-{uuid.uuid4().hex[:10]}"
    settings = secure_settings(broker, ca_file, tmp_path / "w", sasl_password=wrong)
    code, out, err = _guardrail(["worker"], settings_env(settings), timeout=120)
    assert code == 1
    errors = [line for line in (out + err).splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, err[-2000:]
    assert errors[0].startswith(f"Error: authentication failed at {broker.sasl_ssl_bootstrap}")
    assert wrong not in out + err
    assert PASSWORD not in out + err
