"""One released event: read the customer's state, ``decide``, write the state, build the output."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from guardrail.core.records import Event, Profile, Recommendation
from guardrail.pipeline.outputs import Outputs
from guardrail.pipeline.ports import Clock, Decide, Metrics, Store
from guardrail.pipeline.records import InputRecord, OutputRecord
from guardrail.pipeline.statememo import StateMemo
from guardrail.pipeline.validate import Rejected

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Held:
    """An event waiting in the hold, with the record it came in."""

    record: InputRecord
    event: Event

    @property
    def commit_first(self) -> bool:
        """An erasure: commit what was acknowledged before it is applied. Read again after
        the erasure, an earlier recommendation could not get its decision again (the erasure
        forgets remembered decisions too)."""
        event = self.event
        return isinstance(event, Profile) and event.erase


class Handler:
    """State read, decide, state write and the output record, for one event at a time."""

    __slots__ = ("clock", "engine", "memo", "metrics", "outputs", "store")

    def __init__(
        self,
        engine: Decide,
        store: Store,
        outputs: Outputs,
        metrics: Metrics,
        clock: Clock,
        memo_bytes: int,
    ) -> None:
        self.engine = engine
        self.store = store
        self.outputs = outputs
        self.metrics = metrics
        self.clock = clock
        self.memo = StateMemo(memo_bytes)

    def handle(self, held: Held) -> OutputRecord | Rejected | None:
        """Decide ``held``: its output record (None for a signal), or why it was refused."""
        record, event = held.record, held.event
        started = time.perf_counter()
        key = event.customer_id.encode()
        partition = record.partition
        stored = self.store.get(partition, key)
        memo = self.memo
        state = memo.decode(partition, key, stored)
        try:
            new_state, decision = self.engine.decide(state, event)
        except Exception as exc:  # a bug must not stop the stream: keep the record, say why
            # No traceback or message in the log: either may quote the record (customer data).
            where = (record.topic, record.partition, record.offset)
            log.error("decide failed on %s[%d]@%d: %s", *where, type(exc).__name__)
            return Rejected("internal_error", f"internal_error: {exc!r}")
        if new_state is not state:
            erase = stored is not None and isinstance(event, Profile) and event.erase
            if erase:
                memo.drop(partition, key)
                self.store.erase(partition, key)  # a tombstone first: compaction forgets
            if not new_state.is_empty():
                self.store.put(partition, key, memo.encode(partition, key, new_state))
            elif stored is not None and not erase:
                memo.drop(partition, key)
                self.store.delete(partition, key)
        if decision is None:
            self.metrics.record_event(record.topic, "signal")
            return None
        assert isinstance(event, Recommendation)
        latency = time.perf_counter() - started  # state read, decide, state write; not the send
        output = self.outputs.decision(key, decision, record)
        if new_state is state and stored is not None:
            # The engine remembered this rec_id (a redelivery): the same decision again, sent
            # again, but counted as a duplicate rather than a new decision.
            self.metrics.record_event(record.topic, "duplicate")
        else:
            lag = self.clock.time() - event.ts / 1000
            self.metrics.record_decision(
                decision, latency, lag, channel=event.channel, message_class=event.message_class
            )
        return output
