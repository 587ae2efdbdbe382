"""A broker outage is quiet in the worker's log: at most a few lines a second while the broker
is down (repeats cut, with a count of what was cut), and one line once the errors stop."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import pytest

from guardrail.devstack.kafka import LocalKafka
from guardrail.worker.process import WorkerProcess
from kafka_helpers import worker_settings

pytestmark = pytest.mark.integration

OUTAGE_S = 15.0
LINE_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d{3}\] ")


def lines_between(log: str, start: float, end: float) -> list[str]:
    out = []
    for line in log.splitlines():
        match = LINE_TIME.match(line)
        if match is None:
            continue  # a traceback's continuation or a table row belongs to a line counted
        when = datetime.strptime(match[1] + "+0000", "%Y-%m-%d %H:%M:%S%z").timestamp()
        if start <= when < end:
            out.append(line)
    return out


def test_a_broker_outage_writes_a_few_lines_a_second_and_one_when_it_is_over(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    settings = worker_settings(kafka_broker, tmp_path / "data", runtime=runtime)
    log_path = tmp_path / "worker.log"
    with WorkerProcess(settings, log_path).start():
        time.sleep(2)
        down = time.time()
        kafka_broker.stop()
        try:
            time.sleep(OUTAGE_S)
        finally:
            up = time.time()
            kafka_broker.start(timeout=120)
        time.sleep(15)  # reconnect, and the limiter's quiet period
        log = log_path.read_text(errors="replace")
    during = lines_between(log, down, up)
    assert len(during) <= 5 * OUTAGE_S + 25, "\n".join(during[:40])
    suppressed = [line for line in during if "suppressed" in line and "repeated" in line]
    after = lines_between(log, up, time.time() + 1)
    if suppressed:  # a flood was cut: its end is said once
        assert sum("errors stopped" in line for line in after) == 1, "\n".join(after[-30:])
