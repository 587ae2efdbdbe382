"""Starting a worker: a missing data dir is created; a data dir that cannot be created, and a
broker that cannot be reached, end the command with one clear line and no traceback. The
state changelog gets its compaction bound when created, and an existing one is aligned."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.cimpl import NewTopic

from guardrail.config import Settings
from guardrail.devstack.kafka import LocalKafka, free_port
from guardrail.kafka.topics import ensure_topics
from guardrail.worker.process import WorkerProcess, settings_env
from kafka_helpers import worker_settings

pytestmark = pytest.mark.integration


def run_worker_command(settings: Settings, timeout: float = 120) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "guardrail", "worker"],
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result.returncode, result.stdout + result.stderr


def test_a_missing_data_dir_is_created(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    data_dir = tmp_path / "not" / "there" / "yet"
    settings = worker_settings(kafka_broker, data_dir, runtime=runtime, store="rocksdb://")
    with WorkerProcess(settings, tmp_path / "worker.log").start() as worker:
        assert worker.running
        assert data_dir.is_dir()


def test_a_data_dir_that_cannot_be_created_is_one_line(
    kafka_broker: LocalKafka, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings = worker_settings(kafka_broker, blocker / "state")
    code, output = run_worker_command(settings)
    assert code == 1
    assert output.strip().splitlines() == [
        f"Error: cannot create the data dir {blocker / 'state'} (Not a directory): "
        "set GUARDRAIL_DATA_DIR to a writable directory"
    ]


def test_a_broker_that_cannot_be_reached_is_one_line(tmp_path: Path) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    settings = Settings(bootstrap_servers=nobody, data_dir=tmp_path, metrics_port=0)  # type: ignore[call-arg]
    code, output = run_worker_command(settings)
    assert code == 1
    # (librdkafka's own connection log lines may come before it: the logging setup's concern)
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output[-2000:]
    assert errors[0].startswith(f"Error: cannot reach Kafka at {nobody} (")
    assert "Traceback" not in output


def test_the_changelog_is_created_with_and_aligned_to_its_compaction_bound(
    kafka_broker: LocalKafka, tmp_path: Path
) -> None:
    settings = worker_settings(
        kafka_broker,
        tmp_path,
        changelog_max_compaction_lag_ms=600_000,
        changelog_segment_ms=60_000,
    )
    ensure_topics(settings)
    assert changelog_configs(settings) == ("compact", "600000", "60000")
    # An existing changelog (made by an older version, or by faust) is brought in line.
    older = worker_settings(kafka_broker, tmp_path)
    admin = AdminClient(older.confluent_config())
    topic = NewTopic(
        older.changelog_topic, num_partitions=older.partitions, config={"cleanup.policy": "compact"}
    )
    admin.create_topics([topic])[older.changelog_topic].result(30)
    assert changelog_configs(older)[1] == str(2**63 - 1)  # Kafka's default: no bound
    ensure_topics(older)
    lag, segment = str(older.changelog_max_compaction_lag_ms), str(older.changelog_segment_ms)
    for _ in range(50):  # the broker applies a config change shortly after acknowledging it
        if changelog_configs(older) == ("compact", lag, segment):
            break
        time.sleep(0.2)
    assert changelog_configs(older) == ("compact", lag, segment)
    assert lag == "86400000"  # the default bound: a day


def changelog_configs(settings: Settings) -> tuple[str, str, str]:
    admin = AdminClient(settings.confluent_config())
    resource = ConfigResource("topic", settings.changelog_topic)
    for _ in range(50):  # a topic just created may not be known to every listener yet
        try:
            configs = admin.describe_configs([resource])[resource].result(30)
            break
        except KafkaException:
            time.sleep(0.2)
    keys = ("cleanup.policy", "max.compaction.lag.ms", "segment.ms")
    return tuple(str(configs[key].value) for key in keys)  # type: ignore[return-value]
