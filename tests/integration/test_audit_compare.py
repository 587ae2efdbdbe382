"""`guardrail audit --compare EVENTS`: every decision a worker wrote is compared with the pure
replay of the same events, field by field (not only counted): equal with the worker's policy,
and the differing rec_ids named when the replay uses another policy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from guardrail.core.policy import default_policy, policy_from_mapping
from guardrail.devstack.kafka import LocalKafka
from guardrail.kafka.replay import replay_to_kafka
from guardrail.tools.audit import audit, expected_decisions
from guardrail.worker.process import WorkerProcess, settings_env
from helpers import GOLDEN
from kafka_helpers import worker_settings

pytestmark = pytest.mark.integration


def test_audit_compares_every_decision_with_the_pure_replay(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    events = GOLDEN / "consent.events.jsonl"
    lines = events.read_text(encoding="utf-8").splitlines()
    settings = worker_settings(kafka_broker, tmp_path / "data", runtime=runtime, max_future_ms=0)
    with WorkerProcess(settings, tmp_path / "worker.log").start():
        result = replay_to_kafka(lines, settings, timeout_s=120)
    assert result.decisions and not result.rejected

    same = audit(settings, expected=expected_decisions(lines, default_policy()))
    assert same.compared == len(result.decisions)
    assert same.compare_differing_count == 0 and same.compare_missing == 0 and same.ok

    lenient = policy_from_mapping({"rules": {"channel_opt_out": {"mode": "off"}}})
    other = audit(settings, expected=expected_decisions(lines, lenient))
    assert other.compare_differing_count > 0 and not other.ok

    # The command: exit 0 and the comparison line; as JSON, the same figures.
    env = {**os.environ, **settings_env(settings)}
    run = subprocess.run(
        [sys.executable, "-m", "guardrail", "audit", "--compare", str(events), "--json"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert report["compared"] == len(result.decisions) and report["compare_differing_count"] == 0
