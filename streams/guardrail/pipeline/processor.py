"""The pipeline: one worker's record path, from input records to output records and acks.

A runtime drives it in three calls (see ``guardrail.pipeline.drive`` for the whole loop):

- :meth:`Pipeline.read` for every record its consumer returns, in the order read: a bad
  record comes back as a dead letter to send (then :meth:`Pipeline.finished`), a good one
  is held for event-time order;
- :meth:`Pipeline.release` for the held events that may go now, in event-time order; for
  each (committing first when :attr:`Held.commit_first`), :meth:`Pipeline.process` gives
  the output records to send, then :meth:`Pipeline.finished`;
- :meth:`Pipeline.forget` when partitions move or the worker stops: what was not
  acknowledged is read again from the committed offsets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from guardrail.config import Settings
from guardrail.core.engine import Engine
from guardrail.core.policy import Policy
from guardrail.pipeline.acks import InOrderAcks
from guardrail.pipeline.handle import Handler, Held
from guardrail.pipeline.hold import (
    RECOMMENDATION_RANK,
    SIGNAL_RANK,
    CaughtUp,
    PartitionOrderer,
)
from guardrail.pipeline.outputs import Outputs
from guardrail.pipeline.ports import (
    Acknowledge,
    Clock,
    Codec,
    Decide,
    FetchHealth,
    Metrics,
    Store,
    SystemClock,
)
from guardrail.pipeline.records import InputRecord, OutputRecord
from guardrail.pipeline.validate import Limits, Rejected, check, decode

log = logging.getLogger(__name__)

__all__ = ["Held", "Pipeline"]


class Pipeline:
    """Decode, validate, hold, decide and acknowledge the records of one worker's partitions."""

    def __init__(
        self,
        *,
        engine: Decide,
        codec: Codec,
        store: Store,
        acknowledge: Acknowledge,
        fetch: FetchHealth,
        metrics: Metrics,
        input_topics: Mapping[str, str],
        output_topics: Mapping[str, str],
        max_hold_ms: int,
        hold_grace_ms: int = 0,
        limits: Limits | None = None,
        clock: Clock | None = None,
        state_memo_bytes: int = 2_097_152,
    ) -> None:
        self.codec = codec
        self.fetch = fetch
        self.metrics = metrics
        self.limits = limits if limits is not None else Limits()
        self.clock = clock if clock is not None else SystemClock()
        self.kinds = {topic: kind for kind, topic in input_topics.items()}
        self.outputs = Outputs(codec, output_topics)
        self.handler = Handler(engine, store, self.outputs, metrics, self.clock, state_memo_bytes)
        self.max_hold_s = max_hold_ms / 1000
        self.hold_grace_ms = hold_grace_ms
        self.warned_at: dict[int, float] = {}  # partition -> when a long hold was last logged
        self.orderers: dict[int, PartitionOrderer[Held]] = {}
        self.acknowledge = acknowledge
        # Offset order per topic-partition, whatever order events finish in.
        self.acks: InOrderAcks[InputRecord] = InOrderAcks(acknowledge.ack)
        self.last_offset: dict[tuple[str, int], int] = {}

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        policy: Policy,
        codec: Codec,
        *,
        store: Store,
        acknowledge: Acknowledge,
        fetch: FetchHealth,
        metrics: Metrics,
        clock: Clock | None = None,
    ) -> Pipeline:
        """The pipeline a worker runs with ``settings`` and ``policy``."""
        return cls(
            engine=Engine(policy),
            codec=codec,
            store=store,
            acknowledge=acknowledge,
            fetch=fetch,
            metrics=metrics,
            input_topics=settings.input_topics(),
            output_topics=settings.output_topics(),
            max_hold_ms=settings.max_hold_ms,
            hold_grace_ms=settings.hold_grace_ms,
            limits=Limits(
                max_future_ms=settings.max_future_ms,
                max_past_ms=settings.max_past_ms,
                min_ts_ms=settings.min_ts_ms,
                partitions=settings.partitions,
            ),
            clock=clock,
            state_memo_bytes=int(settings.state_memo_mb * 1024 * 1024),
        )

    # -- in ---------------------------------------------------------------------------------

    def read(self, record: InputRecord, attempt: int = 0) -> OutputRecord | None:
        """Take ``record`` (one of the input topics), read in its partition's order.

        None: it is held, to come out of :meth:`release`. Otherwise the dead letter to send;
        call :meth:`finished` once it is sent. Raises ``RetryLater`` when the schema registry
        is unavailable: give the same record again (``attempt`` + 1) after the pause.
        """
        tp = (record.topic, record.partition)
        self.last_offset[tp] = record.offset
        self.acks.read(tp, record.offset, record)
        kind = self.kinds[record.topic]
        event = decode(self.codec, kind, record, attempt)
        if not isinstance(event, Rejected):
            rejected = check(event, record, self.limits, self.now_ms())
            if rejected is None:
                rank = RECOMMENDATION_RANK if kind == "recommendation" else SIGNAL_RANK
                orderer = self.orderer(record.partition)
                wall = self.clock.time()
                held = Held(record, event)
                orderer.push(
                    record.topic, event.ts, rank, held, wall, event.customer_id, record.timestamp
                )
                return None
            event = rejected
        return self.dead_letter(record, event)

    # -- out --------------------------------------------------------------------------------

    def release(self, partition: int) -> list[Held]:
        """The held events of ``partition`` that may be decided now, in event-time order."""
        orderer = self.orderers.get(partition)
        if orderer is None or not len(orderer):
            return []
        return orderer.pop_ready(self.caught_up_in(partition))

    def caught_up_in(self, partition: int) -> CaughtUp:
        """The hold's caught-up question for ``partition``, answered by the runtime."""
        fetch, last = self.fetch, self.last_offset

        def caught_up(topic: str, since: float) -> bool:
            return fetch.caught_up(topic, partition, since, last.get((topic, partition)))

        return caught_up

    def warn_long_holds(self) -> None:
        """Say (at most once per ``max_hold_ms`` and partition) which partitions have held an
        event longer than ``max_hold_ms``, and which topic it waits for: behind or
        unreachable. Called per poll or timer tick, not per event."""
        now = self.clock.time()
        for partition, orderer in self.orderers.items():
            oldest = orderer.oldest_wall()
            if oldest is None or now - oldest < self.max_hold_s:
                continue
            if now - self.warned_at.get(partition, 0.0) < self.max_hold_s:
                continue
            self.warned_at[partition] = now
            head = orderer.head()
            topic = (
                None if head is None else orderer.waiting_for(head, self.caught_up_in(partition))
            )
            log.warning(
                "partition %d: an event held %.1f s waits for %s (behind or unreachable); "
                "%d held, %d released early over the hold's bound",
                partition, now - oldest, topic, len(orderer), orderer.forced,
            )  # fmt: skip

    def process(self, held: Held) -> list[OutputRecord]:
        """Decide a released event: state read, ``decide``, state write. The records to send
        (none for a signal); call :meth:`finished` once they are sent."""
        outcome = self.handler.handle(held)
        if outcome is None:
            return []
        if isinstance(outcome, Rejected):
            return [self.dead_letter(held.record, outcome)]
        return [outcome]

    def finished(self, record: InputRecord) -> None:
        """``record``'s outputs are sent: acknowledge it and every finished record before it."""
        self.acknowledge.finished(record)
        self.acks.finished((record.topic, record.partition), record.offset, record)

    def skip(self, record: InputRecord) -> None:
        """Take ``record`` as read and finished without deciding it (a runtime knows it was
        decided in a committed transaction already): acknowledged in its offset order."""
        tp = (record.topic, record.partition)
        self.last_offset[tp] = record.offset
        self.acks.read(tp, record.offset, record)
        self.finished(record)

    def refuse(self, record: InputRecord, rejected: Rejected) -> OutputRecord:
        """Take ``record`` as read and refused without deciding it (a runtime knows its
        decision cannot be sent): the dead letter to send; then :meth:`finished`."""
        tp = (record.topic, record.partition)
        self.last_offset[tp] = record.offset
        self.acks.read(tp, record.offset, record)
        return self.dead_letter(record, rejected)

    # -- partitions -------------------------------------------------------------------------

    def holding(self) -> list[int]:
        """The partitions with held events."""
        return [partition for partition, orderer in self.orderers.items() if len(orderer)]

    def held(self) -> int:
        """Events held, in every partition."""
        return sum(len(orderer) for orderer in self.orderers.values())

    def last_read(self, topic: str, partition: int) -> int | None:
        """The offset of the last record read from ``topic``'s ``partition`` (since forget)."""
        return self.last_offset.get((topic, partition))

    def forget(self, partitions: Iterable[int] | None = None) -> None:
        """Drop every held and unacknowledged record (of ``partitions``, or all),
        acknowledging nothing (partitions moved, or the worker stops): each is read again
        from the committed offsets, here or by the partition's next owner."""
        if partitions is None:
            self.handler.memo.forget()
            self.orderers.clear()
            self.last_offset.clear()
            self.acks.forget()
            return
        numbers = set(partitions)
        self.handler.memo.forget(numbers)
        for partition in numbers:
            self.orderers.pop(partition, None)
        for tp in [tp for tp in self.last_offset if tp[1] in numbers]:
            del self.last_offset[tp]
        self.acks.forget(numbers)

    # -- helpers ----------------------------------------------------------------------------

    def orderer(self, partition: int) -> PartitionOrderer[Held]:
        orderer = self.orderers.get(partition)
        if orderer is None:
            orderer = self.orderers[partition] = PartitionOrderer(
                self.kinds, grace_ms=self.hold_grace_ms, hold=self.max_hold_s > 0
            )
        return orderer

    def now_ms(self) -> int:
        return int(self.clock.time() * 1000)

    def dead_letter(self, record: InputRecord, rejected: Rejected) -> OutputRecord:
        letter = self.outputs.dead_letter(record, rejected.error, self.now_ms())
        self.metrics.record_dead_letter(record.topic, rejected.error_kind)
        where = (record.topic, record.partition, record.offset)
        log.warning("dead-lettered %s[%d]@%d: %s", *where, rejected.error_kind)
        return letter
