"""The record path of the confluent runtime (decode, checks, hold, decide, outputs).

Synchronous: it hands output records to ``send`` and tells ``positions`` which input
records are finished (in any order) and acknowledged (in offset order per topic-partition).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from guardrail.config import DECISION_HEADER, Settings
from guardrail.core.engine import Engine
from guardrail.core.records import DeadLetter, Event, Profile, Recommendation
from guardrail.core.state import EMPTY_STATE, state_from_json, state_to_json
from guardrail.kafka import bounds, serde
from guardrail.metrics.metric_set import GuardrailMetrics
from guardrail.pipeline.hold import RECOMMENDATION_RANK, SIGNAL_RANK, PartitionOrderer
from guardrail.pipeline.partitioning import wrong_partition
from guardrail.pipeline.timecheck import seconds_problem
from guardrail.worker.confluent.offsets import Positions
from guardrail.worker.confluent.store import PartitionStore

log = logging.getLogger(__name__)

REGISTRY_RETRIES = 10

# (topic, partition, key, value, headers)
Send = Callable[[str, bytes | None, bytes, list[tuple[str, bytes]] | None], None]
CaughtUp = Callable[[str, int, float], bool]


class InRecord:
    __slots__ = ("key", "offset", "partition", "topic", "value")

    def __init__(self, topic: str, partition: int, offset: int, key: Any, value: Any) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value


class _Queue:
    __slots__ = ("done", "offsets")

    def __init__(self) -> None:
        from collections import deque

        self.offsets: Any = deque()
        self.done: set[int] = set()


class RecordPath:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        codec: serde.Codec,
        metrics: GuardrailMetrics,
        stores: dict[int, PartitionStore],
        send: Send,
        positions: Positions,
        caught_up: CaughtUp,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.codec = codec
        self.metrics = metrics
        self.stores = stores
        self.send = send
        self.positions = positions
        self.caught_up = caught_up
        self.kinds = {topic: kind for kind, topic in settings.input_topics().items()}
        self.outputs = settings.output_topics()
        self.orderers: dict[int, PartitionOrderer[tuple[InRecord, Event]]] = {}
        self.queues: dict[tuple[str, int], _Queue] = {}

    # -- in-order acknowledgement ----------------------------------------------------------------

    def _read(self, record: InRecord) -> None:
        tp = (record.topic, record.partition)
        queue = self.queues.get(tp)
        if queue is None:
            queue = self.queues[tp] = _Queue()
        queue.offsets.append(record.offset)

    def _finished(self, record: InRecord) -> None:
        tp = (record.topic, record.partition)
        queue = self.queues.get(tp)
        if queue is None:
            return
        self.positions.finished(tp, record.offset)
        offsets, done = queue.offsets, queue.done
        done.add(record.offset)
        last = None
        while offsets and offsets[0] in done:
            last = offsets.popleft()
            done.discard(last)
        if last is not None:
            self.positions.acknowledged(tp, last)

    def skip(self, record: InRecord) -> None:
        """A record finished in a committed transaction already: acknowledge it in order."""
        self._read(record)
        self._finished(record)

    def held(self) -> int:
        return sum(len(o) for o in self.orderers.values())

    def drop(self, partitions: set[int] | None = None) -> None:
        """Forget held and unacknowledged records (of ``partitions``, or all)."""
        if partitions is None:
            self.orderers.clear()
            self.queues.clear()
            return
        for p in partitions:
            self.orderers.pop(p, None)
        for tp in [tp for tp in self.queues if tp[1] in partitions]:
            del self.queues[tp]

    # -- the path --------------------------------------------------------------------------------

    def receive(self, record: InRecord, now: float) -> None:
        self._read(record)
        kind = self.kinds[record.topic]
        event = self._decode(record, kind, now)
        if event is None:
            self._finished(record)
            return
        rank = RECOMMENDATION_RANK if kind == "recommendation" else SIGNAL_RANK
        orderer = self.orderers.get(record.partition)
        if orderer is None:
            orderer = self.orderers[record.partition] = PartitionOrderer(
                self.kinds, self.settings.max_hold_ms / 1000
            )
        orderer.push(record.topic, event.ts, rank, (record, event), now, event.customer_id)

    def process(self, record: InRecord, now: float) -> None:
        """Decode and decide at once, without the hold (the in-process bench)."""
        event = self._decode(record, self.kinds[record.topic], now)
        if event is not None:
            self._handle(record, event, now)

    def release(self, partition: int, now: float) -> None:
        orderer = self.orderers.get(partition)
        if orderer is None or not len(orderer):
            return
        ready = orderer.pop_ready(lambda t, s: self.caught_up(t, partition, s), now)
        for record, event in ready:
            self._handle(record, event, now)
            self._finished(record)

    def release_all(self, now: float) -> None:
        for partition in list(self.orderers):
            self.release(partition, now)

    def _decode(self, record: InRecord, kind: str, now: float) -> Event | None:
        for attempt in range(REGISTRY_RETRIES):
            try:
                event: Event = self.codec.decode(kind, record.value)  # type: ignore[assignment]
            except serde.DecodeError as exc:
                if exc.transient and attempt + 1 < REGISTRY_RETRIES:
                    log.warning("schema registry unavailable, retrying: %s", exc.message)
                    time.sleep(min(2**attempt, 10))
                    continue
                self._dead_letter(record, exc.error_kind, str(exc), now)
                return None
            except Exception as exc:  # a decoder bug must not stop the stream either
                where = (record.topic, record.partition, record.offset)
                log.error("decode failed on %s[%d]@%d: %s", *where, type(exc).__name__)
                error = f"internal_error: decoding raised {type(exc).__name__}"
                self._dead_letter(record, "internal_error", error, now)
                return None
            if record.key != event.customer_id.encode():
                self._dead_letter(
                    record,
                    "key_mismatch",
                    "key_mismatch: message key is not the customer_id",
                    now,
                )
                return None
            # never decide against another partition's state (pipeline.partitioning)
            wrong = wrong_partition(record.key, record.partition, self.settings.partitions)
            if wrong is not None:
                self._dead_letter(record, "wrong_partition", wrong, now)
                return None
            problem = self._ts_problem(event.ts, now)
            if problem is not None:
                self._dead_letter(record, "ts_out_of_range", f"ts_out_of_range: {problem}", now)
                return None
            return event
        return None  # pragma: no cover

    def _ts_problem(self, ts: int, now: float) -> str | None:
        seconds = seconds_problem(ts, self.settings.min_ts_ms)
        if seconds is not None:
            return seconds
        wall = int(now * 1000)
        ahead, behind = self.settings.max_future_ms, self.settings.max_past_ms
        if ahead and ts > wall + ahead:
            return f"ts {ts} is more than max_future_ms={ahead} ahead of the wall clock"
        if behind and ts < wall - behind:
            return f"ts {ts} is more than max_past_ms={behind} behind the wall clock"
        return None

    def _dead_letter(self, record: InRecord, kind: str, error: str, now: float) -> None:
        value, error = bounds.bounded_dead_letter_value(record.value, error)
        letter = DeadLetter(
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=value,
            error=error,
            ts=int(now * 1000),
        )
        topic = self.outputs["deadletter"]
        self.send(topic, record.key, self.codec.encode("deadletter", letter, topic), None)
        self.metrics.record_dead_letter(record.topic, kind)
        log.warning(
            "dead-lettered %s[%d]@%d: %s", record.topic, record.partition, record.offset, kind
        )

    def _handle(self, record: InRecord, event: Event, now: float) -> None:
        started = time.perf_counter()
        key: bytes = record.key
        store = self.stores[record.partition]
        stored = store.get(key)
        state = state_from_json(stored) if stored is not None else EMPTY_STATE
        try:
            new_state, decision = self.engine.decide(state, event)
        except Exception as exc:
            log.error(
                "decide failed on %s[%d]@%d: %s",
                record.topic,
                record.partition,
                record.offset,
                type(exc).__name__,
            )
            self._dead_letter(record, "internal_error", f"internal_error: {exc!r}", now)
            return
        if new_state is not state:
            if isinstance(event, Profile) and event.erase and stored is not None:
                store.erase(key)  # a tombstone first: compaction forgets all that was
            if new_state.is_empty():
                if stored is not None:
                    store.delete(key)
            else:
                store.put(key, state_to_json(new_state))
        if decision is None:
            self.metrics.record_event(record.topic, "signal")
            return
        assert isinstance(event, Recommendation)
        duplicate = new_state is state and stored is not None
        latency = time.perf_counter() - started
        if decision.recommendation is not None:
            out = self.outputs["approved"]
            value = self.codec.encode("recommendation", decision.recommendation, out)
            headers: list[tuple[str, bytes]] | None = [
                (DECISION_HEADER, bounds.decision_header(decision))
            ]
        else:
            out = self.outputs["suppressed"]
            value = self.codec.encode("decision", decision, out)
            headers = None
        self.send(out, key, value, headers)
        if duplicate:
            self.metrics.record_event(record.topic, "duplicate")
            return
        self.metrics.record_decision(
            decision, latency, now - event.ts / 1000, event.channel, event.message_class
        )
