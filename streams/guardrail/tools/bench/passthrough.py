"""The baselines of `guardrail bench kafka`, each run as its own child process.

``python -m guardrail.tools.bench.passthrough confluent|confluent_txn|faust`` reads its
settings from the same ``GUARDRAIL_*`` variables as a worker and forwards every record of the
five input topics, key, value and headers unchanged, to ``<prefix>recommendations.approved``:

- ``confluent``: a confluent-kafka Consumer and Producer in a plain Python loop (the producer
  configured as ``guardrail replay --kafka`` configures its own: idempotent, murmur2_random,
  linger 5 ms), auto-committing offsets. The ceiling for Python on this broker.
- ``confluent_txn``: the same forwarding, exactly once the way the confluent runtime does it
  (its consumer settings, its transactional producer, a transaction every
  ``checkpoint_ms``/``checkpoint_records`` with the input offsets): no hold, no state, no
  decision. What exactly once costs on this broker by itself (its latency is the floor for
  the confluent runtime's).
- ``faust``: a bare faust agent with exactly the worker's faust/aiokafka options
  (``guardrail.worker.faust_app.faust_options``), on the same event loop (uvloop), and no table. The
  ceiling for faust.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Any

from guardrail.config import Settings
from guardrail.worker.process import READY_LINE, WorkerProcess

CONFLUENT_READY = "confluent passthrough: Ready"


def run_confluent(settings: Settings) -> None:
    from confluent_kafka import Consumer, Producer

    from guardrail.kafka.replay import producer_config

    consumer = Consumer(
        {
            **settings.confluent_config(),
            "group.id": settings.app_id,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
        }
    )
    producer = Producer(producer_config(settings))
    output = settings.topic("approved")
    consumer.subscribe(list(settings.input_topics().values()))
    running = True

    def stop(*_: Any) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(CONFLUENT_READY, flush=True)
    produce = producer.produce
    while running:
        # Drain what is buffered without waiting; block (briefly) only when nothing is.
        messages = consumer.consume(num_messages=1000, timeout=0)
        if not messages:
            first = consumer.poll(0.1)
            if first is None:
                producer.poll(0)
                continue
            messages = [first]
        for message in messages:
            if message.error():
                continue
            while True:
                try:
                    produce(output, message.value(), message.key(), headers=message.headers())
                    break
                except BufferError:
                    producer.poll(0.05)
        producer.poll(0)
    producer.flush(30)
    consumer.close()


class ExactlyOnce:
    """``confluent_txn``: forward every record in transactions that carry the input offsets,
    committed every ``checkpoint_ms`` or ``checkpoint_records``, before partitions are
    revoked and at shutdown; aborted when partitions are lost. A transaction that cannot
    commit ends the process (a floor, not a worker: it does not redo)."""

    def __init__(self, settings: Settings) -> None:
        from confluent_kafka import Consumer

        from guardrail.worker.confluent.runtime import consumer_config
        from guardrail.worker.confluent.transactions import Transactions

        self.settings = settings
        self.consumer = Consumer(consumer_config(settings))
        self.txn = Transactions(settings)
        self.output = settings.topic("approved")
        self.positions: dict[tuple[str, int], int] = {}  # next offset to read, per partition
        self.pending = 0
        self.running = True

    def commit(self, *_: Any) -> None:
        from confluent_kafka import TopicPartition

        from guardrail.worker.confluent.transactions import TransactionAborted

        if self.positions:
            offsets = [TopicPartition(t, p, o) for (t, p), o in self.positions.items()]
            try:
                self.txn.commit(offsets, self.consumer.consumer_group_metadata())
            except TransactionAborted as exc:
                sys.exit(f"confluent_txn: a transaction was aborted ({exc})")
        self.positions.clear()
        self.pending = 0

    def lost(self, *_: Any) -> None:
        self.txn.abort()  # another member may own them already: read again, not committed
        self.positions.clear()
        self.pending = 0

    def stop(self, *_: Any) -> None:
        self.running = False

    def run(self) -> None:
        consumer, produce, positions = self.consumer, self.txn.produce, self.positions
        consumer.subscribe(
            list(self.settings.input_topics().values()), on_revoke=self.commit, on_lost=self.lost
        )
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        print(CONFLUENT_READY, flush=True)
        every_s = self.settings.checkpoint_ms / 1000
        last = time.monotonic()
        while self.running:
            messages: list[Any] = consumer.consume(num_messages=1000, timeout=0)
            if not messages:
                first = consumer.poll(0.005)
                messages = [] if first is None else [first]
            for message in messages:
                if message.error():
                    continue
                produce(self.output, message.key(), message.value(), message.headers())
                positions[(message.topic(), message.partition())] = message.offset() + 1
                self.pending += 1
            now = time.monotonic()
            if now - last >= every_s or self.pending >= self.settings.checkpoint_records:
                self.commit()
                last = now
        self.commit()
        self.txn.close()
        consumer.close()


def run_confluent_txn(settings: Settings) -> None:
    ExactlyOnce(settings).run()


def run_faust(settings: Settings) -> None:
    from guardrail.worker.run import use_uvloop

    use_uvloop()  # the worker's event loop too
    import faust

    from guardrail.worker.faust_app import faust_options

    app = faust.App(settings.app_id, **faust_options(settings))
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    inputs = app.topic(
        *settings.input_topics().values(),
        key_type=bytes,
        value_type=bytes,
        partitions=settings.partitions,
        **raw,
    )
    output = app.topic(settings.topic("approved"), key_type=bytes, value_type=bytes, **raw)

    @app.agent(inputs, name="passthrough")
    async def forward(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            await output.send(key=message.key, value=message.value, headers=message.headers)

    faust.Worker(app, loglevel="info", quiet=True).execute_from_commandline()


class ChildProcess(WorkerProcess):
    """A WorkerProcess that runs ``python -m guardrail.tools.bench.passthrough KIND`` instead."""

    def __init__(self, kind: str, settings: Settings, log_path: Path) -> None:
        super().__init__(settings, log_path)
        self.name = kind
        self.ready_line = READY_LINE if kind == "faust" else CONFLUENT_READY

    def command(self) -> list[str]:
        return [sys.executable, "-m", "guardrail.tools.bench.passthrough", self.name]


def main(argv: list[str]) -> None:
    runs = {"confluent": run_confluent, "confluent_txn": run_confluent_txn, "faust": run_faust}
    if len(argv) != 1 or argv[0] not in runs:
        sys.exit(f"usage: python -m guardrail.tools.bench.passthrough {'|'.join(runs)}")
    runs[argv[0]](Settings())


if __name__ == "__main__":
    main(sys.argv[1:])
