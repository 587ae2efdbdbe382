"""`guardrail demo`: the whole product in one command, on a real local Kafka.

Fetches Kafka (first run), starts a broker and one worker, streams a generated dataset with
every failure family through them, prints what the guardrail decided and why, checks the
decisions against the pure replay of the same events, and stops what it started.

Everything lives under ``--data-dir`` (``var/demo``): the broker's data and log (``kafka/``),
the worker's RocksDB state (``worker/``) and log, the dataset (``events.jsonl``) and, while a
``--keep-running`` stack is up, ``demo.json`` saying what to stop. Each run starts from empty
state, so its decisions are the pure replay's, byte for byte.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import click
from confluent_kafka import KafkaException

from guardrail.config import Settings
from guardrail.core.records import Decision, Event, Recommendation
from guardrail.devstack.jvm_fetch import (
    KAFKA_VERSION,
    cache_dir,
    find_java,
    kafka_classpath,
)
from guardrail.devstack.kafka import HOST, LocalKafka, port_in_use
from guardrail.errors import GuardrailError, LocalStackError
from guardrail.kafka.replay import (
    Progress,
    collect_decisions,
    decision_consumer,
    decision_topics,
    end_offsets,
    produce_events,
)
from guardrail.tools.demo_report import (
    ProgressLine,
    choose_examples,
    compare,
    comparison_line,
    decision_table,
    examples_text,
    heading,
    timings_text,
)
from guardrail.tools.report.build import write_demo_report
from guardrail.worker.process import WorkerProcess

DEFAULT_KAFKA_PORT = 9092
DEFAULT_METRICS_PORT = 9108
DEFAULT_WEB_PORT = 6066
DEMO_MAX_HOLD_MS = 30_000
# The demo's state is thrown away: a worker still busy after this long is killed.
WORKER_STOP_S = 10.0
STATE_FILE = "demo.json"


def _say(message: str) -> None:
    click.echo(message, err=True)


def _step(number: int, message: str) -> None:
    _say(f"[{number}/6] {message}")


def _free_from(start: int, width: int = 1) -> int:
    """The first port at or after ``start`` with ``width`` free consecutive ports."""
    for port in range(start, min(start + 200, 65536 - width)):
        if not any(port_in_use(port + i) for i in range(width)):
            return port
    raise LocalStackError(f"no free port on {HOST} between {start} and {start + 200}")


def _choose_port(explicit: int | None, default: int, what: str, option: str, width: int) -> int:
    if explicit is not None:
        busy = [p for p in range(explicit, explicit + width) if port_in_use(p)]
        if busy:
            raise LocalStackError(
                f"port {busy[0]} ({what}) on {HOST} is in use; pick another with {option}"
            )
        return explicit
    port = _free_from(default, width)
    if port != default:
        _say(f"      port {default} ({what}) is busy: using {port} instead")
    return port


@dataclass
class Stack:
    """What this run started, so that every exit path stops exactly that."""

    data_dir: Path
    kafka: LocalKafka | None = None
    worker: WorkerProcess | None = None
    # other child processes with a stop() (guardrail ingest, for --foreign)
    extra: list[Any] = field(default_factory=list)
    stages: list[tuple[str, float, str]] = field(default_factory=list)
    report: Path | None = None

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[list[str]]:
        notes: list[str] = []
        started = time.monotonic()
        yield notes
        self.stages.append((name, time.monotonic() - started, "; ".join(notes)))

    def stop(self) -> None:
        for process in self.extra:
            process.stop()
        self.extra.clear()
        if self.worker is not None and self.worker.process is not None:
            pid, started = self.worker.process.pid, time.monotonic()
            if self.worker.running:
                _say(f"stopping the worker (pid {pid}) ...")
            code = self.worker.stop(timeout=WORKER_STOP_S)
            how = " (killed: it was still shutting down)" if code == -signal.SIGKILL else ""
            _say(f"stopped the worker (pid {pid}) in {time.monotonic() - started:.1f}s{how}")
        self.worker = None
        if self.kafka is not None and self.kafka.is_running():
            self.kafka.stop()
        self.kafka = None
        (self.data_dir / STATE_FILE).unlink(missing_ok=True)


# --- a stack left up by --keep-running ------------------------------------------------------


def _our_worker(pid: int, worker_dir: Path) -> bool:
    """Is ``pid`` a live `guardrail worker` of this data dir (not a recycled pid)?"""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    marker = f"GUARDRAIL_DATA_DIR={worker_dir}".encode()
    return state not in ("Z", "X") and b"guardrail\0worker" in cmdline and marker in environ


def _stop_pid(pid: int, worker_dir: Path, timeout: float = WORKER_STOP_S) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _our_worker(pid, worker_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _our_worker(pid, worker_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def stop_kept(data_dir: Path) -> bool:
    """Stop the worker and broker an earlier `demo --keep-running` left up in ``data_dir``."""
    state_path = data_dir / STATE_FILE
    worker_dir = (data_dir / "worker").resolve()
    stopped = False
    try:
        state: dict[str, Any] = json.loads(state_path.read_text())
    except (OSError, ValueError):
        state = {}
    pid = state.get("worker_pid")
    if isinstance(pid, int) and _our_worker(pid, worker_dir):
        _say(f"stopping the demo worker (pid {pid}) ...")
        _stop_pid(pid, worker_dir)
        _say(f"stopped the demo worker (pid {pid})")
        stopped = True
    broker = LocalKafka(
        int(state.get("kafka_port", DEFAULT_KAFKA_PORT)), data_dir=data_dir / "kafka", echo=_say
    )
    if broker.is_running():
        stopped = broker.stop() or stopped
    state_path.unlink(missing_ok=True)
    return stopped


# --- streaming -----------------------------------------------------------------------------


def _quiet_logger() -> logging.Logger:
    # librdkafka warns while a fresh broker loads its transaction coordinator; it retries, and
    # real failures come back through delivery reports and exceptions.
    logger = logging.getLogger("guardrail.demo.librdkafka")
    logger.setLevel(logging.ERROR)
    return logger


def stream_through_kafka(
    events: list[Event],
    settings: Settings,
    timeout_s: float,
    progress: Progress,
    notes: list[str],
) -> list[Decision]:
    """``replay_to_kafka`` with the producer above: every recommendation's decision, in order."""
    listen = decision_topics(settings)
    consumer = decision_consumer(settings, "guardrail-demo", logger=_quiet_logger())
    wanted = [e.rec_id for e in events if isinstance(e, Recommendation)]
    try:
        consumer.assign(end_offsets(consumer, listen))
        started = time.monotonic()
        produce_events(events, settings, progress, logger=_quiet_logger())
        produced = time.monotonic()
        got = collect_decisions(consumer, listen, wanted, timeout_s, progress)
    finally:
        consumer.close()
    notes.append(
        f"produced in {produced - started:.1f} s, the last decision "
        f"{time.monotonic() - produced:.1f} s later"
    )
    by_rec = {decision.rec_id: decision for decision in got}
    return [by_rec[rec_id] for rec_id in wanted]


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoOptions:
    customers: int
    events: int
    seed: int
    failure_rate: float
    port: int | None
    metrics_port: int | None
    data_dir: Path
    keep_running: bool
    timeout: float


def _clean_env() -> None:
    # The demo is a self-contained stack: GUARDRAIL_* settings meant for a real deployment
    # (a remote broker, a registry, a topic prefix) must not leak into its worker.
    for name in [n for n in os.environ if n.startswith("GUARDRAIL_")]:
        if name != "GUARDRAIL_CACHE":
            del os.environ[name]


def start_stack(opts: DemoOptions, stack: Stack) -> Settings:
    """Kafka fetched and started (steps 1-2); the demo worker's settings."""
    _clean_env()
    opts.data_dir.mkdir(parents=True, exist_ok=True)
    if stop_kept(opts.data_dir):
        _say("      (that stack was left up by an earlier `guardrail demo --keep-running`)")
    with stack.stage("fetch Kafka") as notes:
        _fetch_kafka(notes)
    with stack.stage("start broker") as notes:
        broker = _start_broker(opts, stack, notes)
    return _worker_settings(opts, broker)


def run_demo(opts: DemoOptions, stack: Stack) -> bool:
    """Everything up to the report; returns whether Kafka agreed with the pure replay."""
    from guardrail.core.policy import load_policy

    settings = start_stack(opts, stack)
    with stack.stage("create topics") as notes:
        _create_topics(settings, notes)
    with stack.stage("start worker"):
        _start_worker(opts, stack, settings)
    with stack.stage("generate events") as notes:
        lines, events, originals = _generate(opts, notes)
    with stack.stage("stream through Kafka") as notes:
        _step(6, f"streaming them through the worker on {settings.bootstrap_servers}")
        progress = ProgressLine()
        try:
            kafka_decisions = stream_through_kafka(events, settings, opts.timeout, progress, notes)
        finally:
            progress.finish()
    with stack.stage("pure replay (no Kafka)") as notes:
        pure = _pure_replay(settings, lines, notes)
    same = _report(kafka_decisions, pure, originals)
    with stack.stage("HTML report") as notes:
        stack.report = write_demo_report(opts.data_dir, load_policy(settings.policy))
        notes.append(str(stack.report))
    return same


def _fetch_kafka(notes: list[str]) -> None:
    java = find_java(17, f"Kafka {KAFKA_VERSION}")
    _step(1, f"Kafka {KAFKA_VERSION} (java: {java}; cache {cache_dir()})")
    jars = kafka_classpath(KAFKA_VERSION, echo=_say).split(os.pathsep)
    notes.append(f"{len(jars)} jars")


def _start_broker(opts: DemoOptions, stack: Stack, notes: list[str]) -> LocalKafka:
    data_dir = opts.data_dir
    port = _choose_port(opts.port, DEFAULT_KAFKA_PORT, "Kafka", "--port", width=2)
    _step(2, f"starting a Kafka broker on {HOST}:{port} (data {data_dir / 'kafka'})")
    for stale in ("kafka", "worker"):  # each run starts from empty topics and state
        shutil.rmtree(data_dir / stale, ignore_errors=True)
    (data_dir / "worker.log").unlink(missing_ok=True)
    stack.kafka = LocalKafka(port, data_dir=data_dir / "kafka", echo=_say)
    stack.kafka.start(timeout=opts.timeout)
    notes.append(f"{HOST}:{port}")
    return stack.kafka


def _worker_settings(opts: DemoOptions, broker: LocalKafka) -> Settings:
    metrics_port = _choose_port(
        opts.metrics_port, DEFAULT_METRICS_PORT, "metrics", "--metrics-port", width=1
    )
    return Settings(
        bootstrap_servers=broker.bootstrap,  # the rest: defaults (GUARDRAIL_* cleared)
        data_dir=(opts.data_dir / "worker").resolve(),
        metrics_port=metrics_port,
        web_port=_free_from(DEFAULT_WEB_PORT),
        # The demo squeezes months of events into seconds, maybe on a busy laptop: the worker
        # waits up to 30 s (not 2 s) for every topic to catch up before it releases an event.
        max_hold_ms=DEMO_MAX_HOLD_MS,
    )


def _create_topics(settings: Settings, notes: list[str]) -> None:
    from guardrail.kafka.topics import all_topics, ensure_topics

    _step(3, "creating topics")
    partitions = ensure_topics(settings)
    notes.append(f"{len(all_topics(settings))} topics x {partitions} partitions")


def _start_worker(opts: DemoOptions, stack: Stack, settings: Settings) -> None:
    assert stack.kafka is not None
    log_path = opts.data_dir / "worker.log"
    _step(4, f"starting a worker (RocksDB state in {settings.data_dir}, log {log_path})")
    stack.worker = WorkerProcess(settings, log_path)
    stack.worker.start(timeout=opts.timeout)
    pid = stack.worker.process.pid if stack.worker.process else None
    metrics_port = settings.metrics_port
    _say(f"      worker ready (pid {pid}, metrics http://{HOST}:{metrics_port}/metrics)")
    state = {"kafka_port": stack.kafka.port, "worker_pid": pid, "metrics_port": metrics_port}
    (opts.data_dir / STATE_FILE).write_text(json.dumps(state) + "\n")


def _generate(
    opts: DemoOptions, notes: list[str]
) -> tuple[list[str], list[Event], dict[str, Recommendation]]:
    from guardrail.generate.stream import GeneratorConfig, generate_lines
    from guardrail.kafka.replay import parse_events

    cfg = GeneratorConfig(
        seed=opts.seed, customers=opts.customers, events=opts.events, failure_rate=opts.failure_rate
    )
    lines = list(generate_lines(cfg))
    dataset = opts.data_dir / "events.jsonl"
    dataset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    events, _ = parse_events(lines)
    originals = {e.rec_id: e for e in events if isinstance(e, Recommendation)}
    _step(
        5,
        f"generated {len(lines):,} events ({len(originals):,} recommendations) for "
        f"{opts.customers:,} customers, seed {opts.seed} -> {dataset}",
    )
    notes.append(f"{len(lines):,} events")
    return lines, events, originals


def _pure_replay(settings: Settings, lines: list[str], notes: list[str]) -> list[Decision]:
    from guardrail.core.policy import load_policy
    from guardrail.core.replay import Replayer

    replayer = Replayer(load_policy(settings.policy))
    pure = list(replayer.replay_lines(lines))
    notes.append("same events, in-process")
    return pure


def _report(
    kafka_decisions: list[Decision], pure: list[Decision], originals: dict[str, Recommendation]
) -> bool:
    click.echo(decision_table(kafka_decisions))
    click.echo(examples_text(choose_examples(kafka_decisions, originals), originals))
    comparison = compare(kafka_decisions, pure)
    click.echo(heading("Check"))
    click.echo(comparison_line(comparison, len(pure)))
    return comparison.same


def explore_text(stack: Stack, data_dir: Path) -> str:
    kafka, worker = stack.kafka, stack.worker
    if kafka is None or worker is None:
        return ""
    settings = worker.settings
    pid = worker.process.pid if worker.process else "?"
    cmd_dir = f"--port {kafka.port} --data-dir {kafka.home}"
    topics = settings.input_topics().values()
    outputs = settings.output_topics().values()
    stop_dir = "" if data_dir == Path("var/demo") else f" --data-dir {data_dir}"
    metrics_url = f"http://{HOST}:{settings.metrics_port}/metrics"
    return "\n".join(
        [
            heading("Still running (--keep-running)"),
            f"  broker   {kafka.bootstrap} (pid {kafka.pid()}, log {kafka.log_file})",
            f"           guardrail kafka status {cmd_dir}",
            f"  worker   pid {pid}, log {worker.log_path}",
            f"  metrics  {metrics_url}",
            f"           curl -s {metrics_url} | grep '^guardrail_'",
            f"  topics   in:  {' '.join(topics)}",
            f"           out: {' '.join(outputs)}",
            f"  dataset  {data_dir / 'events.jsonl'}",
            "",
            "  More events through the running worker:",
            "    guardrail generate --customers 50 --events 500 --seed 1 | guardrail replay "
            f"--kafka --bootstrap-servers {kafka.bootstrap} -",
            "  The same decisions without Kafka:",
            f"    guardrail replay {data_dir / 'events.jsonl'} > /dev/null",
            "  Stop the worker and the broker:",
            f"    guardrail demo --stop{stop_dir}",
        ]
    )


def _interrupted(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def run(opts: DemoOptions, foreign: bool = False) -> int:
    """Run the demo (``foreign``: on a brand's own topics through `guardrail ingest`); stop
    what it started on every way out (unless --keep-running succeeded).

    Returns the exit status: 0, 1 when Kafka's decisions differ from the pure replay's, 130
    when interrupted. A failure (the broker, the worker, Kafka) is raised after the clean-up.
    """
    stack = Stack(opts.data_dir)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    same, completed, interrupted = False, False, False
    failure: Exception | None = None
    try:
        if foreign:
            from guardrail.tools.foreign_demo import run_foreign_demo

            same = run_foreign_demo(opts, stack)
        else:
            same = run_demo(opts, stack)
        completed = True
    except KeyboardInterrupt:
        interrupted = True
    except (GuardrailError, KafkaException) as exc:  # reported once the stack is stopped
        failure = exc
    except Exception as exc:
        if not _interrupted(exc):  # Ctrl-C inside librdkafka surfaces as a SystemError
            raise
        interrupted = True
    finally:
        _finish(stack, opts, completed, previous)
    if stack.report is not None:
        click.echo(f"\nReport: {stack.report} (one file, opens offline in any browser)")
    if interrupted:
        _say("interrupted: stopped what the demo had started")
        return 130
    if failure is not None:
        raise failure
    return 0 if same else 1


def _finish(stack: Stack, opts: DemoOptions, completed: bool, previous: Any) -> None:
    """Stop the stack (or show how to explore it) and the stage timings."""
    # A second Ctrl-C must not cut the clean-up short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        if opts.keep_running and completed:
            click.echo(timings_text(stack.stages))
            click.echo(explore_text(stack, opts.data_dir))
        else:
            with stack.stage("stop worker and broker"):
                stack.stop()
            if completed:
                click.echo(timings_text(stack.stages))
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, previous)
