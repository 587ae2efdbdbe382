"""The transactional producer: outputs, changelog writes and input offsets in one transaction.

One producer per worker instance with a ``transactional.id`` that stays the same across
restarts of that instance (its data directory and host), so a restarted instance fences its
own dead predecessor and aborts the transaction it left open at once instead of after the
transaction timeout. Zombies of *other* instances (a worker that lost its partitions in a
rebalance but still runs) are fenced by the consumer group: the offsets are sent with the
consumer's group metadata (KIP-447), and a member of an old generation cannot commit them.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException, Producer, TopicPartition

from guardrail.config import Settings

log = logging.getLogger(__name__)

INIT_TIMEOUT_S = 60.0
COMMIT_TIMEOUT_S = 150.0
# librdkafka's send_offsets_to_transaction can block past its timeout when the group
# coordinator goes away (librdkafka issue 5456, open): a call still blocked after this long
# means the producer is wedged; it is abandoned (fenced by its successor, same id).
CALL_TIMEOUT_S = 30
CALL_LIMIT_S = 45.0


class Wedged(RuntimeError):
    """A transactional call did not return in time (see CALL_LIMIT_S)."""


def bounded(call: Callable[[], None], limit: float = CALL_LIMIT_S) -> None:
    """``call()`` in a daemon thread; :class:`Wedged` if it has not returned in ``limit``."""
    done = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            failed.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="transaction-call", daemon=True).start()
    if not done.wait(limit):
        raise Wedged("a transactional call did not return")
    if failed:
        raise failed[0]


class TransactionAborted(RuntimeError):
    """The open transaction was aborted: everything since the last commit is to be redone."""


def transactional_id(settings: Settings) -> str:
    """Stable per instance: the app id, the host and the data directory (RocksDB); random
    for the memory store, which has nothing to come back to."""
    if settings.instance_id:
        return f"{settings.app_id}-{settings.instance_id}"
    if settings.store.startswith("memory://"):
        return f"{settings.app_id}-{uuid.uuid4().hex[:12]}"
    where = f"{socket.gethostname()}:{Path(settings.data_dir).resolve()}"
    return f"{settings.app_id}-{hashlib.sha256(where.encode()).hexdigest()[:12]}"


def producer_config(settings: Settings) -> dict[str, Any]:
    return {
        **settings.confluent_config(),
        "transactional.id": transactional_id(settings),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "partitioner": "murmur2_random",
        "transaction.timeout.ms": settings.transaction_timeout_ms,
        "message.timeout.ms": settings.transaction_timeout_ms,
        "queue.buffering.max.messages": 1_000_000,
        # The first retry of a transactional request (one the coordinator answers "busy",
        # e.g. while the last commit's markers are written) after 1 ms, not 100: the
        # exactly-once passthrough's p99 at 1,000 recommendations/s went from 108-132 ms to
        # 53-58 (docs/benchmarks.md). Retries still back off exponentially, to 1 s.
        "retry.backoff.ms": 1,
    }


class Transactions:
    """A transactional producer, begun lazily at the first record of each checkpoint."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer = self._new_producer()
        self.open = False
        self.abandoned: list[Producer] = []  # wedged producers, kept so none is destroyed

    def _new_producer(self) -> Producer:
        producer = Producer(producer_config(self.settings))
        deadline = time.monotonic() + INIT_TIMEOUT_S
        while True:
            try:
                producer.init_transactions(10)
                return producer
            except KafkaException as exc:
                error = exc.args[0]
                if not error.retriable() or time.monotonic() > deadline:
                    raise
                log.warning("init_transactions: %s; retrying", error.name())

    def begin(self) -> None:
        if not self.open:
            self.producer.begin_transaction()
            self.open = True

    def produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Any = None,
        partition: int = -1,
        on_delivery: Callable[[Any, Any], None] | None = None,
    ) -> None:
        if not self.open:
            self.begin()
        producer = self.producer
        while True:
            try:
                if on_delivery is None:
                    producer.produce(topic, value, key, partition, headers=headers)
                else:
                    producer.produce(
                        topic, value, key, partition, headers=headers, on_delivery=on_delivery
                    )
                return
            except BufferError:
                producer.poll(0.05)

    def commit(self, offsets: list[TopicPartition], group_metadata: Any) -> None:
        """Send ``offsets`` and commit; raises :class:`TransactionAborted` when the transaction
        cannot be committed (it is aborted, or the producer renewed)."""
        self.begin()
        producer = self.producer
        deadline = time.monotonic() + COMMIT_TIMEOUT_S
        try:
            if offsets:
                self._retry(
                    lambda: producer.send_offsets_to_transaction(
                        offsets, group_metadata, CALL_TIMEOUT_S
                    ),
                    deadline,
                )
            self._retry(lambda: producer.commit_transaction(CALL_TIMEOUT_S), deadline)
            self.open = False
        except Wedged:
            self._renew("a wedged call")
            raise TransactionAborted("wedged") from None
        except KafkaException as exc:
            self._recover(exc)
            raise TransactionAborted(exc.args[0].name()) from None

    @staticmethod
    def _retry(call: Callable[[], None], deadline: float) -> None:
        while True:
            try:
                bounded(call)
                return
            except KafkaException as exc:
                error = exc.args[0]
                if not error.retriable() or time.monotonic() > deadline:
                    raise
                log.warning("transaction: %s; retrying", error.name())
                time.sleep(0.2)

    def abort(self) -> None:
        """Abort what is open (after a failure elsewhere, or partitions lost)."""
        if not self.open:
            return
        try:
            bounded(lambda: self.producer.abort_transaction(CALL_TIMEOUT_S))
            self.open = False
        except Wedged:
            self._renew("a wedged abort")
        except KafkaException as exc:
            self._recover(exc)

    def _recover(self, exc: KafkaException) -> None:
        error = exc.args[0]
        if error.txn_requires_abort():
            log.warning("transaction aborted: %s", error.name())
            try:
                bounded(lambda: self.producer.abort_transaction(CALL_TIMEOUT_S))
                self.open = False
                return
            except Wedged:
                pass
            except KafkaException as again:
                error = again.args[0]
        # Fatal (fenced, or a state the producer cannot leave): a new producer, same id.
        self._renew(error.name() if hasattr(error, "name") else "a wedged abort")

    def _renew(self, why: str) -> None:
        """A new producer with the same transactional id: it fences the old one, and the
        broker aborts the old one's open transaction."""
        log.warning("transactional producer renewed after %s", why)
        self.abandoned.append(self.producer)
        self.producer = self._new_producer()
        self.open = False

    def close(self) -> None:
        self.abort()
        self.producer.flush(10)
