"""`guardrail bench kafka`: the guardrail against passthrough baselines, one broker, one stream.

Candidates (each on fresh topics with its own prefix, all fed the same generated stream):

- ``confluent``: confluent-kafka consume -> produce passthrough
  (``guardrail.tools.bench.passthrough``)
- ``confluent_txn``: the same passthrough exactly once, as the confluent runtime commits
  (its consumer settings and transactional producer, a transaction every checkpoint_ms)
- ``faust``: a bare faust agent forwarding every record, with the worker's faust options
- ``guardrail``: the guardrail worker (``WorkerProcess``)
- ``guardrail_x2``: two guardrail workers in one group (throughput only; both started, and in
  the group, before the stream is produced; their CPU time summed)
- ``confluent_worker``, ``confluent_worker_x2``: the guardrail worker on the confluent runtime
  (``--runtime confluent``), one and two workers
- ``inprocess``: the confluent runtime's record path without Kafka (bytes -> record -> RocksDB
  state -> decide -> state write -> output bytes; ``guardrail.tools.bench.inprocess``)
- ``engine``: the pure engine (``guardrail bench engine`` in a child process)

Each Kafka candidate is measured twice: draining the preloaded stream (events/s, recs/s) and
then live at a steady rate of recommendations (latency p50/p99). Peak RSS is the processing
process's VmHWM. See docs/benchmarks.md for the figures and how to read them.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click
from confluent_kafka.admin import AdminClient

from guardrail.config import Settings
from guardrail.devstack.kafka import LocalKafka, free_ports
from guardrail.generate.customers import DAY
from guardrail.generate.stream import GeneratorConfig
from guardrail.kafka.topics import all_topics, ensure_topics
from guardrail.tools.bench.inprocess import inprocess_figures
from guardrail.tools.bench.load import Stream, build_stream, output_span_s, preload, steady_latency
from guardrail.tools.bench.load import wait_for_outputs as wait_outputs
from guardrail.tools.bench.passthrough import ChildProcess
from guardrail.tools.bench.report import Figures, format_table, rate, to_json, vm_hwm_mb
from guardrail.tools.measure import cpu_seconds, load_average, percentile
from guardrail.worker.process import WorkerProcess

CANDIDATES = (
    "confluent",
    "confluent_txn",
    "faust",
    "guardrail",
    "guardrail_x2",
    "confluent_worker",
    "confluent_worker_x2",
    "inprocess",
    "engine",
)
PASSTHROUGHS = ("confluent", "confluent_txn", "faust")
WORKERS = ("guardrail", "guardrail_x2", "confluent_worker", "confluent_worker_x2")


def echo(text: str) -> None:
    click.echo(text, err=True)


def progress(text: str) -> None:
    click.echo(f"\r    {text}\033[K", err=True, nl=False)


@contextlib.contextmanager
def broker(bootstrap: str | None, work: Path) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    port, controller = free_ports(2)
    kafka = LocalKafka(port, controller_port=controller, data_dir=work / "kafka", heap="1g")
    kafka.start()
    try:
        yield kafka.bootstrap
    finally:
        kafka.stop(quiet=True)


class Bench:
    def __init__(
        self,
        bootstrap: str,
        work: Path,
        partitions: int,
        store: str,
        rec_rate: float,
        timeout_s: float,
        max_hold_ms: int | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.work = work
        self.partitions = partitions
        self.store = store
        self.rec_rate = rec_rate
        self.timeout_s = timeout_s
        self.max_hold_ms = max_hold_ms
        self.run_id = uuid.uuid4().hex[:8]
        self.created: list[Settings] = []

    def settings(self, name: str) -> Settings:
        (web_port,) = free_ports(1)
        return Settings(
            bootstrap_servers=self.bootstrap,
            topic_prefix=f"bench-{self.run_id}-{name}.",
            partitions=self.partitions,
            app_id=f"bench-{self.run_id}-{name}",
            store=self.store,
            data_dir=self.work / name,
            metrics_port=0,
            web_port=web_port,
            max_hold_ms=Settings().max_hold_ms if self.max_hold_ms is None else self.max_hold_ms,
            runtime="confluent" if name.startswith("confluent_worker") else "faust",
        )

    def start(self, name: str, settings: Settings, workers: int) -> list[WorkerProcess]:
        logs = self.work / "logs"
        processes: list[WorkerProcess] = []
        for n in range(workers):
            if name in PASSTHROUGHS:
                processes.append(ChildProcess(name, settings, logs / f"{name}.log"))
            else:
                own = settings.model_copy(
                    update={"web_port": free_ports(1)[0], "data_dir": settings.data_dir / str(n)}
                )
                processes.append(WorkerProcess(own, logs / f"{name}-{n}.log"))
        for process in processes:
            process.settings.data_dir.mkdir(parents=True, exist_ok=True)
        # Started together (threads), so that two workers join one first rebalance.
        try:
            with ThreadPoolExecutor(len(processes)) as pool:
                list(pool.map(lambda process: process.start(), processes))
        except BaseException:  # one did not start: none stays running
            for process in processes:
                process.stop()
            raise
        return processes

    def run(self, name: str, stream: Stream, live: Stream | None, workers: int = 1) -> Figures:
        settings = self.settings(name)
        ensure_topics(settings)
        self.created.append(settings)
        guardrail = name in WORKERS
        outputs = [settings.topic("approved")]
        if guardrail:
            outputs.append(settings.topic("suppressed"))
        expected = stream.recommendations if guardrail else stream.events
        # One processor drains a preloaded stream. Several are all in the group before the
        # first record: started after the preload, the first one ready drained much of it
        # alone while the others were still starting (before the CPU baseline was taken).
        if workers == 1:
            self.preload(name, settings, stream)
        processes = self.start(name, settings, workers)
        figures = Figures(name, events=stream.events, recommendations=stream.recommendations)
        try:

            def alive() -> bool:
                return all(p.running for p in processes)

            def cpu() -> float:  # every processing process's, summed
                return sum(cpu_seconds(p.process.pid) or 0.0 for p in processes if p.process)

            cpu_before = cpu()
            if workers > 1:
                self.preload(name, settings, stream)
            got = wait_outputs(settings, outputs, expected, self.timeout_s, alive, progress)
            figures.drain_cpu_s = round(cpu() - cpu_before, 2)
            figures.events_per_cpu_s = rate(stream.events, figures.drain_cpu_s)
            click.echo(err=True)
            if got < expected:
                figures.notes.append(f"only {got} of {expected} outputs in {self.timeout_s} s")
            self.span(figures, settings, outputs)
            if live is not None:
                self.latency(figures, settings, live, outputs)
            peaks = [vm_hwm_mb(p.process.pid) for p in processes if p.process is not None]
            figures.peak_rss_mb = max((p for p in peaks if p is not None), default=None)
        finally:
            for process in processes:
                process.stop()
        return figures

    @staticmethod
    def preload(name: str, settings: Settings, stream: Stream) -> None:
        echo(f"  {name}: preloading {stream.events:,} events (load {load_average()})")
        preload(settings, stream)

    @staticmethod
    def span(figures: Figures, settings: Settings, outputs: list[str]) -> None:
        span = output_span_s(settings, outputs)
        figures.seconds = round(span, 2)
        figures.events_per_s = rate(figures.events, span)
        figures.recommendations_per_s = rate(figures.recommendations, span)
        echo(
            f"    drained at {figures.events_per_s or 0:,.0f} events/s, "
            f"{figures.events_per_cpu_s or 0:,.0f} per CPU-s (load {load_average()})"
        )

    def latency(
        self, figures: Figures, settings: Settings, live: Stream, outputs: list[str]
    ) -> None:
        echo(f"    live: {self.rec_rate:g} recommendations/s (load {load_average()})")
        result = steady_latency(settings, live, self.rec_rate, outputs, progress)
        click.echo(err=True)
        samples = result.latencies_ms
        figures.latency_samples = len(samples)
        figures.latency_rate_rec_s = round(result.rate, 1)
        for attr, q in (("latency_p50_ms", 50), ("latency_p99_ms", 99), ("latency_max_ms", 100)):
            value = percentile(samples, q)
            setattr(figures, attr, None if value is None else round(value, 1))
        if len(samples) < result.sent:
            figures.notes.append(f"{result.sent - len(samples)} recommendations without output")
        echo(
            f"    p50 {figures.latency_p50_ms} ms, p99 {figures.latency_p99_ms} ms "
            f"(load {load_average()})"
        )

    def cleanup(self) -> None:
        names = [name for s in self.created for name in all_topics(s)]
        if not names:
            return
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        for future in admin.delete_topics(names, operation_timeout=30).values():
            with contextlib.suppress(Exception):
                future.result(timeout=30)


def engine_figures(cfg: GeneratorConfig, work: Path) -> Figures:
    out = work / "engine.json"
    command = [sys.executable, "-m", "guardrail", "bench", "engine", "--json-out", str(out)]
    command += ["--events", str(cfg.events), "--customers", str(cfg.customers)]
    command += ["--days", str(cfg.days), "--seed", str(cfg.seed)]
    command += ["--recommendation-share", str(cfg.recommendation_share)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    data = json.loads(out.read_text())
    return Figures(
        "engine",
        events=data["events"],
        recommendations=data["recommendations"],
        seconds=data["seconds"],
        events_per_s=data["events_per_s"],
        recommendations_per_s=data["recommendations_per_s"],
        peak_rss_mb=data["peak_rss_mb"],
        notes=[f"mean state {data['mean_state_bytes']} bytes; no broker, so no latency"],
    )


def _stream_configs(
    seed: int,
    customers: int,
    events: int,
    days: float,
    recommendation_share: float,
    latency_rate: float,
    latency_seconds: float,
) -> tuple[GeneratorConfig, GeneratorConfig]:
    """The preloaded stream's config, and the live (latency) stream's, a day after it."""
    cfg = GeneratorConfig(
        seed=seed,
        customers=customers,
        events=events,
        days=days,
        recommendation_share=recommendation_share,
    )
    live_events = int(latency_rate * latency_seconds / max(recommendation_share, 0.01))
    live_cfg = GeneratorConfig(
        seed=seed + 1,
        customers=customers,
        events=max(live_events, 1),
        days=1,
        start_ms=cfg.start_ms + int((days + 1) * DAY),
        recommendation_share=recommendation_share,
    )
    return cfg, live_cfg


def _run_candidate(
    name: str,
    bench: Bench,
    cfg: GeneratorConfig,
    stream: Stream,
    live: Stream | None,
    work: Path,
    partitions: int,
) -> Figures:
    if name == "engine":
        echo(f"  engine (load {load_average()})")
        return engine_figures(cfg, work)
    if name == "inprocess":
        echo(f"  inprocess (load {load_average()})")
        return inprocess_figures(stream, work / "inprocess", partitions)
    if name.endswith("_x2"):
        return bench.run(name, stream, None, workers=2)
    return bench.run(name, stream, live)


def _report(
    figures: dict[str, Figures],
    stream: Stream,
    load_before: str,
    json_out: Path | None,
    run_settings: dict[str, Any],
) -> None:
    """Print the table and notes; write the figures and how they were made as JSON."""
    load_after = load_average()
    click.echo(format_table(figures))
    click.echo(f"load average before {load_before}, after {load_after}")
    for f in figures.values():
        for note in f.notes:
            click.echo(f"  {f.name}: {note}")
    run = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "events": stream.events,
        "recommendations": stream.recommendations,
        **run_settings,
        "command": " ".join(["guardrail", "bench", "kafka", *sys.argv[3:]]),
    }
    if json_out:
        json_out.write_text(to_json(figures, run, load_before, load_after))


def kafka_bench(
    bootstrap_servers: str | None,
    events: int,
    customers: int,
    recommendation_share: float,
    days: float,
    seed: int,
    partitions: int,
    latency_rate: float,
    latency_seconds: float,
    store: str,
    max_hold_ms: int | None,
    only: tuple[str, ...],
    timeout: float,
    work_dir: Path | None,
    json_out: Path | None,
) -> None:
    """Guardrail vs confluent-kafka and bare faust passthroughs, and the pure engine.

    On one broker (a local one unless --bootstrap-servers) and one generated stream:
    events/s and recommendations/s draining the preloaded stream, end-to-end latency p50/p99
    at a steady --latency-rate, peak RSS, and the ratios c/a and c/b.
    """
    load_before = load_average()

    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")  # stops children, topics and the broker

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)  # even when started with & (SIGINT ignored)
    cfg, live_cfg = _stream_configs(
        seed, customers, events, days, recommendation_share, latency_rate, latency_seconds
    )
    chosen = [c for c in CANDIDATES if not only or c in only]
    work = work_dir or Path(tempfile.mkdtemp(prefix="guardrail-bench-"))
    echo(f"bench kafka: {events:,} events, {customers:,} customers (load {load_before})")
    stream = build_stream(cfg)
    live = build_stream(live_cfg) if latency_seconds > 0 else None
    figures: dict[str, Figures] = {}
    with broker(bootstrap_servers, work) as bootstrap:
        bench = Bench(
            bootstrap, work, partitions, f"{store}://", latency_rate, timeout, max_hold_ms
        )
        try:
            for name in chosen:
                figures[name] = _run_candidate(name, bench, cfg, stream, live, work, partitions)
        finally:
            bench.cleanup()
    _report(figures, stream, load_before, json_out, run_settings={
        "customers": customers, "days": days, "seed": seed, "partitions": partitions,
        "store": store, "max_hold_ms": max_hold_ms, "latency_rate": latency_rate,
        "latency_seconds": latency_seconds,
    })  # fmt: skip
    if work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
