"""`guardrail soak`: steady generated load against a broker and one worker, watched over time.

Three threads and the worker process:

- the **load** thread produces ``guardrail.generate.stream`` events (JSON) at a steady rate,
  keyed by ``customer_id``; every record carries a ``guardrail-sent-ns`` header (wall clock at
  send), and the send time of each recommendation is kept by ``rec_id``;
- the **listener** reads the approved and suppressed topics; a decision's latency is its
  arrival time minus its recommendation's send time (so it includes the worker's event-time
  ordering hold, the broker round trips and the consumer's fetch wait);
- every ``report_every`` seconds the main thread prints throughput, decision latency p50/p99
  and the worker's resident memory (``VmRSS`` of ``/proc/PID/status``);

and at the end a summary: whether RSS grew after warm-up (mean of the last third of the
samples against the second third, and the least-squares slope over both).

Without ``--bootstrap-servers`` it starts its own broker (``LocalKafka``) on free ports.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click

from guardrail.tools.measure import percentile, proc_status_mb

SENT_HEADER = "guardrail-sent-ns"
DRAIN_S = 30.0  # how long decisions still in flight at the end are waited for


# -- report logic (pure) ---------------------------------------------------------------------


@dataclass
class Sample:
    """One report interval."""

    t_s: float  # seconds since the load started, at the end of the interval
    produced: int  # events produced in the interval
    decided: int  # decisions received in the interval
    p50_ms: float | None
    p99_ms: float | None
    rss_mb: float | None
    interval_s: float

    @property
    def events_per_s(self) -> float:
        return self.produced / self.interval_s if self.interval_s else 0.0

    @property
    def decisions_per_s(self) -> float:
        return self.decided / self.interval_s if self.interval_s else 0.0


@dataclass
class RssTrend:
    second_third_mb: float
    last_third_mb: float
    growth_pct: float
    slope_mb_per_min: float
    grew: bool


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(x, y)`` points (0 for fewer than two distinct x)."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def rss_trend(samples: list[Sample], tolerance_pct: float = 5.0) -> RssTrend | None:
    """Did RSS grow after warm-up? The first third of the samples is warm-up.

    It grew when the last third's mean exceeds the second third's by more than
    ``tolerance_pct`` percent. None with fewer than three RSS samples.
    """
    points = [(s.t_s, s.rss_mb) for s in samples if s.rss_mb is not None]
    if len(points) < 3:
        return None
    third = len(points) // 3
    second = [y for _, y in points[third : 2 * third]]
    last = [y for _, y in points[2 * third :]]
    second_mean = sum(second) / len(second)
    last_mean = sum(last) / len(last)
    growth = (last_mean - second_mean) / second_mean * 100 if second_mean else 0.0
    slope = _slope([(x / 60, y) for x, y in points[third:]])
    return RssTrend(second_mean, last_mean, growth, slope, growth > tolerance_pct)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def format_sample(sample: Sample) -> str:
    rss = "-" if sample.rss_mb is None else f"{sample.rss_mb:.1f}"
    return (
        f"soak t={sample.t_s:6.0f}s  in {sample.events_per_s:8,.0f} ev/s  "
        f"out {sample.decisions_per_s:7,.0f} dec/s  latency p50 {_ms(sample.p50_ms)} ms "
        f"p99 {_ms(sample.p99_ms)} ms  worker RSS {rss} MB"
    )


def summary_lines(samples: list[Sample], produced: int, decided: int, wanted: int) -> list[str]:
    lines = [
        f"soak summary: {produced:,} events produced, {decided:,} of {wanted:,} "
        f"recommendations decided over {samples[-1].t_s if samples else 0:.0f} s"
    ]
    p99s = [s.p99_ms for s in samples if s.p99_ms is not None]
    if p99s:
        lines.append(
            f"  decision latency p99 per interval: median {percentile(p99s, 50):,.0f} ms, "
            f"worst {max(p99s):,.0f} ms"
        )
    trend = rss_trend(samples)
    if trend is None:
        lines.append("  RSS: too few samples to judge growth")
    else:
        verdict = "GREW" if trend.grew else "stable (no growth after warm-up)"
        lines.append(
            f"  worker RSS after warm-up: second third {trend.second_third_mb:.1f} MB, "
            f"last third {trend.last_third_mb:.1f} MB ({trend.growth_pct:+.1f}%), "
            f"slope {trend.slope_mb_per_min:+.2f} MB/min: {verdict}"
        )
    return lines


# -- the moving parts ------------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    """Resident set size of ``pid`` in MB (``VmRSS``), None when it is gone."""
    return proc_status_mb(pid, "VmRSS")


@dataclass
class Tracker:
    """Send times by ``rec_id`` and the latencies measured since the last ``take``."""

    sent: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    produced: int = 0
    recommendations: int = 0
    decided: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_sent(self, rec_id: str | None, at: float) -> None:
        with self.lock:
            self.produced += 1
            if rec_id is not None:
                self.recommendations += 1
                self.sent[rec_id] = at

    def on_decided(self, rec_id: str, at: float) -> None:
        with self.lock:
            sent = self.sent.pop(rec_id, None)
            if sent is not None:  # a duplicate decision has no send time any more
                self.decided += 1
                self.latencies.append((at - sent) * 1000)

    def take(self) -> tuple[int, int, list[float]]:
        with self.lock:
            latencies, self.latencies = self.latencies, []
            return self.produced, self.decided, latencies


def event_payloads(config: Any) -> Iterable[tuple[str, str, bytes, str | None]]:
    """``(kind, customer_id, JSON value, rec_id or None)`` of generated events, in order."""
    from guardrail.generate.stream import generate_events

    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for event in generate_events(config):
        kind = event.pop("type")
        rec_id = event.get("rec_id") if kind == "recommendation" else None
        yield kind, event["customer_id"], dumps(event).encode(), rec_id


def produce_load(
    settings: Any,
    payloads: Iterable[tuple[str, str, bytes, str | None]],
    *,
    rate: float | None = None,
    stop: threading.Event | None = None,
    on_sent: Callable[[str | None, float], None] | None = None,
) -> int:
    """Produce ``payloads`` onto the input topics, at ``rate`` events/s when given.

    Returns how many were delivered; raises when any was not.
    """
    from confluent_kafka import KafkaException, Producer

    from guardrail.kafka.replay import producer_config

    topics = settings.input_topics()
    producer = Producer({**producer_config(settings), "linger.ms": 20})
    failures: list[str] = []

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    started = time.monotonic()
    sent = 0
    for kind, customer_id, value, rec_id in payloads:
        if stop is not None and stop.is_set():
            break
        if rate:
            ahead = started + sent / rate - time.monotonic()
            if ahead > 0:
                producer.poll(0)
                time.sleep(ahead)
        now_ns = time.time_ns()
        while True:
            try:
                producer.produce(
                    topics[kind],
                    key=customer_id.encode(),
                    value=value,
                    headers={SENT_HEADER: str(now_ns).encode()},
                    on_delivery=delivered,
                )
                break
            except BufferError:
                producer.poll(0.05)
        if on_sent is not None:
            on_sent(rec_id, now_ns / 1e9)
        sent += 1
        if sent % 1000 == 0:
            producer.poll(0)
    remaining = producer.flush(120)
    if failures or remaining:
        raise KafkaException(
            f"{len(failures) + remaining} of {sent} events not delivered: "
            f"{failures[:1] or 'flush timeout'}"
        )
    return sent


def listen(settings: Any, tracker: Tracker, stop: threading.Event) -> None:
    """Read decisions from the end of the output topics until ``stop``; time each one."""
    from confluent_kafka import OFFSET_END, Consumer, TopicPartition

    outputs = settings.output_topics()
    consumer = Consumer(
        {
            **settings.confluent_config(),
            "group.id": f"guardrail-soak-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 50,
        }
    )
    try:
        metadata = consumer.list_topics(timeout=30)
        consumer.assign(
            [
                TopicPartition(topic, p, OFFSET_END)
                for topic in (outputs["approved"], outputs["suppressed"])
                for p in metadata.topics[topic].partitions
            ]
        )
        while not stop.is_set():
            # poll() returns with the first decision; consume(500, 0.2) waited for 500 or the
            # full 0.2 s, which added ~100 ms to every latency measured at low rates.
            first = consumer.poll(0.2)
            if first is None:
                continue
            for message in [first, *consumer.consume(num_messages=500, timeout=0)]:
                value = message.value()
                if message.error() or value is None:
                    continue
                try:
                    rec_id = json.loads(value).get("rec_id")
                except ValueError:  # not JSON (a registry is configured): not timed
                    continue
                if isinstance(rec_id, str):
                    tracker.on_decided(rec_id, time.time())
    finally:
        consumer.close()


# RocksDB memory per partition of the soak's worker (see --rocksdb-write-buffer-mb).
SOAK_WRITE_BUFFER_MB = 1
SOAK_BLOCK_CACHE_MB = 2

# -- the run ---------------------------------------------------------------------------------


@dataclass
class SoakResult:
    samples: list[Sample]
    produced: int
    decided: int
    recommendations: int
    trend: RssTrend | None

    def to_json(self) -> dict[str, Any]:
        return {
            "samples": [asdict(s) for s in self.samples],
            "produced": self.produced,
            "decided": self.decided,
            "recommendations": self.recommendations,
            "rss_trend": asdict(self.trend) if self.trend else None,
        }


def run_soak(
    settings: Any,
    *,
    minutes: float,
    rate: float,
    report_every: float = 30.0,
    customers: int = 2_000,
    seed: int = 7,
    log_path: Path,
    echo: Callable[[str], None] = print,
) -> SoakResult:
    """Run one worker (``settings``) and the load for ``minutes``; report as it goes."""
    from guardrail.generate.stream import GeneratorConfig
    from guardrail.kafka.topics import ensure_topics
    from guardrail.worker.process import WorkerFailed, WorkerProcess

    ensure_topics(settings)
    seconds = minutes * 60
    config = GeneratorConfig(seed=seed, customers=customers, events=int(rate * seconds) + 1)
    tracker = Tracker()
    stop = threading.Event()
    stop_load = threading.Event()
    samples: list[Sample] = []
    errors: list[BaseException] = []

    def guarded(target: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
                stop.set()
                stop_load.set()

        return run

    with WorkerProcess(settings, log_path).start(timeout=120) as worker:
        assert worker.process is not None
        pid = worker.process.pid
        echo(
            f"soak: worker pid {pid} ready (log {log_path}); {rate:g} events/s for {minutes:g} min"
            f"; RocksDB per partition: {settings.rocksdb_write_buffer_mb} MB memtables, "
            f"{settings.rocksdb_block_cache_mb} MB block cache"
        )
        listener = threading.Thread(target=guarded(lambda: listen(settings, tracker, stop)))
        listener.start()
        time.sleep(2)  # the listener assigns itself before the first decision can arrive
        load = threading.Thread(
            target=guarded(
                lambda: produce_load(
                    settings,
                    event_payloads(config),
                    rate=rate,
                    stop=stop_load,
                    on_sent=tracker.on_sent,
                )
            )
        )
        started = time.monotonic()
        load.start()
        last_t, last_produced, last_decided = started, 0, 0
        try:
            while time.monotonic() - started < seconds and not stop.is_set():
                stop.wait(min(report_every, max(0.0, started + seconds - time.monotonic())))
                now = time.monotonic()
                if now - last_t < 1:
                    continue
                produced, decided, latencies = tracker.take()
                sample = Sample(
                    t_s=now - started,
                    produced=produced - last_produced,
                    decided=decided - last_decided,
                    p50_ms=percentile(latencies, 50),
                    p99_ms=percentile(latencies, 99),
                    rss_mb=rss_mb(pid),
                    interval_s=now - last_t,
                )
                samples.append(sample)
                echo(format_sample(sample))
                last_t, last_produced, last_decided = now, produced, decided
                if not worker.running:
                    raise WorkerFailed(f"the worker died; its log: {log_path}", worker.tail())
        finally:
            stop_load.set()
            load.join()
            drain_until = time.monotonic() + DRAIN_S  # the last decisions, in no sample
            while tracker.sent and not stop.is_set() and time.monotonic() < drain_until:
                time.sleep(0.2)
            stop.set()
            listener.join()
    if errors:
        raise errors[0]
    trend = rss_trend(samples)
    result = SoakResult(samples, tracker.produced, tracker.decided, tracker.recommendations, trend)
    for line in summary_lines(samples, result.produced, result.decided, result.recommendations):
        echo(line)
    return result


@click.command()
@click.option("--minutes", type=click.FloatRange(min=0.1), default=10.0, show_default=True)
@click.option(
    "--rate", type=click.FloatRange(min=1), default=500.0, show_default=True, help="Events/s."
)
@click.option(
    "--report-every",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="Seconds between reports.",
)
@click.option(
    "--customers",
    type=click.IntRange(min=1),
    default=2_000,
    show_default=True,
    help="Few enough that all are seen during warm-up: later RSS growth is then not more state.",
)
@click.option("--partitions", type=click.IntRange(min=1), default=4, show_default=True)
@click.option(
    "--rocksdb-write-buffer-mb",
    type=click.IntRange(min=1),
    default=SOAK_WRITE_BUFFER_MB,
    show_default=True,
    help="The soak worker's memtable size per partition (the worker's default: 8). Small, so "
    "RocksDB's memory reaches its bound in the warm-up third of a 10-minute run and growth "
    "after it is a leak, not a filling store. The worker's defaults take ~12 minutes to fill "
    "at 200 events/s: soak them with --minutes 30 or more.",
)
@click.option(
    "--rocksdb-block-cache-mb",
    type=click.IntRange(min=1),
    default=SOAK_BLOCK_CACHE_MB,
    show_default=True,
    help="The soak worker's block cache per partition (the worker's default: 16).",
)
@click.option(
    "--bootstrap-servers",
    help="Use this broker (its GUARDRAIL_* security settings apply) instead of starting one.",
)
@click.option(
    "--json-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write every sample and the summary here as JSON.",
)
def soak(
    minutes: float,
    rate: float,
    report_every: float,
    customers: int,
    partitions: int,
    rocksdb_write_buffer_mb: int,
    rocksdb_block_cache_mb: int,
    bootstrap_servers: str | None,
    json_out: Path | None,
) -> None:
    """Soak test: steady generated load on one worker; throughput, latency p99 and RSS.

    Every REPORT_EVERY seconds: events/s produced, decisions/s received, decision latency
    p50/p99 and the worker's RSS; at the end, whether RSS grew after warm-up. Starts its own
    local broker on free ports unless --bootstrap-servers is given; the worker uses RocksDB
    in a temporary directory and a fresh topic prefix.
    """
    from guardrail.config import Settings
    from guardrail.devstack.kafka import LocalKafka, free_port, free_ports

    root = Path(tempfile.mkdtemp(prefix="guardrail-soak-"))
    broker: LocalKafka | None = None
    try:
        if bootstrap_servers is None:
            port, controller = free_ports(2)
            broker = LocalKafka(port, controller_port=controller, data_dir=root / "kafka")
            broker.start(timeout=240)
            bootstrap_servers = broker.bootstrap
        tag = uuid.uuid4().hex[:8]
        settings = Settings(
            bootstrap_servers=bootstrap_servers,
            topic_prefix=f"soak{tag}.",
            app_id=f"guardrail-soak-{tag}",
            partitions=partitions,
            rocksdb_write_buffer_mb=rocksdb_write_buffer_mb,
            rocksdb_block_cache_mb=rocksdb_block_cache_mb,
            data_dir=root / "worker",
            metrics_port=0,
            web_port=free_port(),
        )
        result = run_soak(
            settings,
            minutes=minutes,
            rate=rate,
            report_every=report_every,
            customers=customers,
            log_path=root / "worker.log",
            echo=lambda line: click.echo(line),
        )
        if json_out is not None:
            json_out.write_text(json.dumps(result.to_json(), indent=1) + "\n")
    finally:
        if broker is not None:
            broker.stop(quiet=True)
        shutil.rmtree(root, ignore_errors=True)
