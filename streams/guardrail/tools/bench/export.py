"""`guardrail bench export`: export N generated events from a real local broker and measure
the exporter's peak RSS, to show it does not hold the events (the figure for 1,000,000 is
in docs/benchmarks.md).

Starts a throwaway broker (or uses the given one), produces the generated replay lines as
JSON values onto the five input topics (streamed: the producer holds no list either), then
runs `guardrail export` in a child process and reads the child's peak RSS from the kernel
(``wait4``), next to the size of what it wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Producer

from guardrail.config import Settings
from guardrail.devstack.kafka import LocalKafka, free_ports
from guardrail.errors import ProcessFailed
from guardrail.generate.stream import GeneratorConfig, generate_lines
from guardrail.kafka.replay import producer_config
from guardrail.kafka.topics import ensure_topics
from guardrail.worker.process import settings_env

Echo = Callable[[str], None]


@dataclass
class ExportFigures:
    events: int
    produce_seconds: float
    export_seconds: float
    events_per_s: float
    peak_rss_mb: float
    file_mb: float
    chunk: int


def produce_generated(settings: Settings, cfg: GeneratorConfig, echo: Echo) -> int:
    """Generated replay lines onto their topics, keyed by customer; returns how many."""
    producer = Producer({**producer_config(settings), "linger.ms": 50})
    topics = settings.input_topics()
    sent = 0
    for line in generate_lines(cfg):
        doc = json.loads(line)
        while True:
            try:
                producer.produce(
                    topics[doc["type"]], key=doc["customer_id"].encode(), value=line.encode()
                )
                break
            except BufferError:
                producer.poll(0.1)
        sent += 1
        if sent % 100_000 == 0:
            producer.poll(0)
            echo(f"bench export: produced {sent:,}")
    if producer.flush(120) != 0:
        raise RuntimeError("not every event was delivered")
    return sent


def export_child(settings: Settings, out: Path, chunk: int) -> tuple[float, float]:
    """Run `guardrail export` in a child; (seconds, the child's peak RSS in MB)."""
    env = {**os.environ, **settings_env(settings)}
    command = [sys.executable, "-m", "guardrail", "export", "--since", "2h"]
    command += ["--out", str(out), "--chunk", str(chunk)]
    log = out.with_suffix(".log")
    started = time.monotonic()
    with log.open("w") as stderr:
        child = subprocess.Popen(command, env=env, stderr=stderr)
        # wait4: this child's own peak RSS (RUSAGE_CHILDREN would mix in the broker's tools)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:]
        raise ProcessFailed(f"guardrail export exited {child.returncode}: {' '.join(tail)}")
    return time.monotonic() - started, usage.ru_maxrss / 1024


def run_export_bench(
    events: int, customers: int, chunk: int, bootstrap: str | None, echo: Echo
) -> ExportFigures:
    workdir = Path(tempfile.mkdtemp(prefix="guardrail-bench-export-"))
    broker: LocalKafka | None = None
    try:
        if bootstrap is None:
            port, controller = free_ports(2)
            broker = LocalKafka(port, controller_port=controller, data_dir=workdir / "kafka")
            broker.start(timeout=240)
            bootstrap = broker.bootstrap
        settings = Settings(
            bootstrap_servers=bootstrap, topic_prefix=f"bench{uuid.uuid4().hex[:6]}.", partitions=4
        )
        ensure_topics(settings)
        cfg = GeneratorConfig(seed=5, customers=customers, events=events, days=1.0)
        started = time.monotonic()
        sent = produce_generated(settings, cfg, echo)
        produced = time.monotonic() - started
        echo(f"bench export: produced {sent:,} events in {produced:.0f} s; exporting")
        out = workdir / "export.jsonl"
        seconds, peak = export_child(settings, out, chunk)
        size_mb = out.stat().st_size / 1e6
        return ExportFigures(sent, produced, seconds, sent / seconds, peak, size_mb, chunk)
    finally:
        if broker is not None:
            broker.stop(quiet=True)
        shutil.rmtree(workdir, ignore_errors=True)
