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
from typing import TYPE_CHECKING, Any

from guardrail.tools.measure import percentile, proc_status_mb
from guardrail.tools.soak_report import RssTrend, Sample, format_sample, rss_trend, summary_lines

if TYPE_CHECKING:
    from guardrail.generate.stream import Message

SENT_HEADER = "guardrail-sent-ns"
DRAIN_S = 30.0  # how long decisions still in flight at the end are waited for


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


def produce_load(
    settings: Any,
    messages: Iterable[Message],
    *,
    rate: float | None = None,
    stop: threading.Event | None = None,
    on_sent: Callable[[str | None, float], None] | None = None,
) -> int:
    """Produce ``messages`` onto the input topics, at ``rate`` events/s when given.

    Returns how many were delivered; raises when any was not.
    """
    from confluent_kafka import KafkaException, Producer

    from guardrail.kafka.replay import producer_config

    topics = settings.input_topics()
    # linger.ms 5 (the client default): below the hold's grace, see GUARDRAIL_HOLD_GRACE_MS
    producer = Producer({**producer_config(settings), "linger.ms": 5})
    failures: list[str] = []

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    started = time.monotonic()
    sent = 0
    for kind, key, value, rec_id in messages:
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
                    key=key,
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


@dataclass
class _Load:
    """The load and listener threads of one run: the first error in either stops both."""

    settings: Any
    config: Any
    rate: float
    tracker: Tracker = field(default_factory=Tracker)
    stop: threading.Event = field(default_factory=threading.Event)
    stop_load: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    started: float = 0.0

    def _guarded(self, target: Callable[[], object]) -> threading.Thread:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # raised by raise_first(), in the main thread
                self.errors.append(exc)
                self.stop.set()
                self.stop_load.set()

        return threading.Thread(target=run)

    def start(self) -> None:
        from guardrail.generate.stream import generate_messages

        self.listener = self._guarded(lambda: listen(self.settings, self.tracker, self.stop))
        self.listener.start()
        time.sleep(2)  # the listener assigns itself before the first decision can arrive
        self.load = self._guarded(
            lambda: produce_load(
                self.settings,
                generate_messages(self.config),
                rate=self.rate,
                stop=self.stop_load,
                on_sent=self.tracker.on_sent,
            )
        )
        self.started = time.monotonic()
        self.load.start()

    def finish(self) -> None:
        """Stop the load, wait a while for the decisions in flight, stop the listener."""
        self.stop_load.set()
        self.load.join()
        drain_until = time.monotonic() + DRAIN_S  # the last decisions, in no sample
        while self.tracker.sent and not self.stop.is_set() and time.monotonic() < drain_until:
            time.sleep(0.2)
        self.stop.set()
        self.listener.join()

    def raise_first(self) -> None:
        if self.errors:
            raise self.errors[0]


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
    from guardrail.worker.process import WorkerProcess

    ensure_topics(settings)
    seconds = minutes * 60
    config = GeneratorConfig(seed=seed, customers=customers, events=int(rate * seconds) + 1)
    load = _Load(settings, config, rate)
    with WorkerProcess(settings, log_path).start(timeout=120) as worker:
        assert worker.process is not None
        echo(
            f"soak: worker pid {worker.process.pid} ready (log {log_path}); {rate:g} events/s "
            f"for {minutes:g} min; RocksDB per partition: {settings.rocksdb_write_buffer_mb} MB "
            f"memtables, {settings.rocksdb_block_cache_mb} MB block cache"
        )
        load.start()
        try:
            samples = _watch(worker, load, seconds, report_every, echo)
        finally:
            load.finish()
    load.raise_first()
    tracker = load.tracker
    result = SoakResult(
        samples, tracker.produced, tracker.decided, tracker.recommendations, rss_trend(samples)
    )
    for line in summary_lines(samples, result.produced, result.decided, result.recommendations):
        echo(line)
    return result


def _watch(
    worker: Any, load: _Load, seconds: float, report_every: float, echo: Callable[[str], None]
) -> list[Sample]:
    """A sample every ``report_every`` seconds until ``seconds`` are up or the load stopped."""
    from guardrail.worker.process import WorkerFailed

    pid = worker.process.pid
    started = load.started
    samples: list[Sample] = []
    last_t, last_produced, last_decided = started, 0, 0
    while time.monotonic() - started < seconds and not load.stop.is_set():
        load.stop.wait(min(report_every, max(0.0, started + seconds - time.monotonic())))
        now = time.monotonic()
        if now - last_t < 1:
            continue
        produced, decided, latencies = load.tracker.take()
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
            raise WorkerFailed(f"the worker died; its log: {worker.log_path}", worker.tail())
    return samples


@dataclass(frozen=True)
class SoakOptions:
    """What `guardrail soak` runs (see its --help)."""

    minutes: float = 10.0
    rate: float = 500.0
    report_every: float = 30.0
    customers: int = 2_000
    partitions: int = 4
    rocksdb_write_buffer_mb: int = SOAK_WRITE_BUFFER_MB
    rocksdb_block_cache_mb: int = SOAK_BLOCK_CACHE_MB
    bootstrap_servers: str | None = None  # None: start a local broker on free ports
    json_out: Path | None = None


def soak(opts: SoakOptions, echo: Callable[[str], None] = print) -> SoakResult:
    """A soak run: its own broker unless one is given, a fresh topic prefix, one worker with
    RocksDB in a temporary directory (removed afterwards)."""
    from guardrail.config import Settings
    from guardrail.devstack.kafka import LocalKafka, free_port, free_ports

    root = Path(tempfile.mkdtemp(prefix="guardrail-soak-"))
    broker: LocalKafka | None = None
    try:
        bootstrap_servers = opts.bootstrap_servers
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
            partitions=opts.partitions,
            rocksdb_write_buffer_mb=opts.rocksdb_write_buffer_mb,
            rocksdb_block_cache_mb=opts.rocksdb_block_cache_mb,
            data_dir=root / "worker",
            metrics_port=0,
            web_port=free_port(),
        )
        result = run_soak(
            settings,
            minutes=opts.minutes,
            rate=opts.rate,
            report_every=opts.report_every,
            customers=opts.customers,
            log_path=root / "worker.log",
            echo=echo,
        )
        if opts.json_out is not None:
            opts.json_out.write_text(json.dumps(result.to_json(), indent=1) + "\n")
        return result
    finally:
        if broker is not None:
            broker.stop(quiet=True)
        shutil.rmtree(root, ignore_errors=True)
