"""Records whose outputs the broker refuses for good, learned from delivery reports.

A refused produce (larger than the topic's ``max.message.bytes``, say) fails the whole
transaction, and librdkafka fails every record of the refused batch with it. So the worker
redoes the checkpoint from the last commit (as after any aborted transaction), now sending
each suspect's outputs alone (the producer flushed before and after); the records that only
shared its batch get through. A record refused alone is dead-lettered (``send_failed``) on
the next redo, without being decided, so its state change is undone with the aborted
transaction; a dead letter refused alone too is not sent again: the record's position is
logged and counted, and the record is finished all the same. Nothing here stops a
partition.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from guardrail.metrics.metric_set import GuardrailMetrics
from guardrail.pipeline import InputRecord, OutputRecord, Pipeline, Rejected
from guardrail.pipeline.ports import Send

log = logging.getLogger(__name__)

#: The broker's refusals of one record: sent alone, it is refused again.
REFUSAL_CODES = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.RECORD_LIST_TOO_LARGE,
        KafkaError.INVALID_TIMESTAMP,
        KafkaError.INVALID_RECORD,
    }
)
SEND_FAILED = "send_failed"

Position = tuple[str, int, int]


def must_abort(exc: KafkaException) -> bool:
    """Whether a produce failed because the open transaction failed (a refusal meanwhile:
    librdkafka says "erroneous state" until it is aborted)."""
    error = exc.args[0]
    return bool(error.txn_requires_abort() or error.code() == KafkaError._STATE)


def position(record: InputRecord) -> Position:
    return (record.topic, record.partition, record.offset)


class Refusals:
    """What the delivery reports said about the records since the last commit."""

    __slots__ = ("dropped", "failed", "metrics", "refused", "reported", "suspects")

    def __init__(self, metrics: GuardrailMetrics) -> None:
        self.metrics = metrics
        self.suspects: set[Position] = set()  # refused in a shared batch: send alone
        self.refused: dict[Position, str] = {}  # refused alone: dead-letter it (why)
        self.dropped: dict[Position, str] = {}  # its dead letter refused alone (error)
        self.failed = False  # the open transaction holds a refusal: redo it now
        self.reported: set[Position] = set()  # dropped ones logged and counted (once)

    def seen(self) -> bool:
        """Whether a refusal was reported since the last commit."""
        return bool(self.failed or self.suspects or self.refused or self.dropped)

    def produce(self, txn: Any, output: OutputRecord) -> None:
        """``output`` into the open transaction of ``txn`` (``Transactions``), alone when its
        record is a suspect; nothing while the transaction is to be redone."""
        if self.failed:
            return
        alone = self.alone(output)
        if alone:
            txn.producer.flush(30)

        def delivered(err: KafkaError | None, _msg: Any) -> None:
            self.delivered(output, alone, err)

        try:
            txn.produce(output.topic, output.key, output.value, output.headers, -1, delivered)
        except KafkaException as exc:  # too large for the client, or the transaction failed
            error = exc.args[0]
            if error.code() in REFUSAL_CODES and output.source is not None:
                self.refuse(output, True, error.name())
            elif must_abort(exc):
                self.failed = True
            else:
                raise
        if alone:
            txn.producer.flush(30)

    def refused_before(self, record: InputRecord, pipeline: Pipeline, send: Send) -> bool:
        """Dead-letter ``record`` if the broker refused its outputs alone (or finish it, if
        even its dead letter was refused); False when nothing was refused of it."""
        if not (self.refused or self.dropped):
            return False
        where = position(record)
        error = self.dropped.get(where)
        if error is not None:
            pipeline.skip(record)
            # Counted as dead-lettered with the checkpoint that finishes it (CheckpointMetrics).
            self.metrics.record_dead_letter(record.topic, SEND_FAILED)
            if where in self.reported:
                return True  # (a redo: logged and counted already)
            self.reported.add(where)
            log.error(
                "the dead letter of %s[%d]@%d was refused too (%s): nothing of the record is "
                "kept; going on",
                *where,
                error,
            )
            self.metrics.record_unsent_dead_letter(record.topic, SEND_FAILED)
            return True
        why = self.refused.get(where)
        if why is None:
            return False
        send.send(pipeline.refuse(record, Rejected(SEND_FAILED, why)))
        pipeline.finished(record)
        return True

    def alone(self, output: OutputRecord) -> bool:
        """Whether ``output`` is to be sent with nothing else in its batch."""
        source = output.source
        if source is None or not (self.suspects or self.refused):
            return False
        where = position(source)
        return where in self.suspects or where in self.refused

    def delivered(self, output: OutputRecord, alone: bool, err: KafkaError | None) -> None:
        """A delivery report of ``output`` (sent ``alone`` or not)."""
        if err is None or err.code() not in REFUSAL_CODES or output.source is None:
            return  # delivered, or a failure that is not the record's (the checkpoint retries)
        self.refuse(output, alone, err.name())

    def refuse(self, output: OutputRecord, alone: bool, error: str) -> None:
        assert output.source is not None
        where = position(output.source)
        if not alone:
            self.suspects.add(where)
            return
        if output.kind == "deadletter":
            self.dropped[where] = error
        else:
            self.refused[where] = (
                f"{SEND_FAILED}: the broker refused its {output.kind} record ({error})"
            )
        self.failed = True

    def committed(self, offsets: Mapping[tuple[str, int], tuple[int, Any]]) -> None:
        """A checkpoint committed ``offsets`` (topic-partition -> (next offset, metadata)):
        the positions behind them are done with; the others (a partition that made no
        progress in it) are still to be redone."""

        def ahead(where: Position) -> bool:
            committed = offsets.get((where[0], where[1]))
            return committed is None or where[2] >= committed[0]

        self.suspects = {where for where in self.suspects if ahead(where)}
        self.refused = {where: why for where, why in self.refused.items() if ahead(where)}
        self.dropped = {where: error for where, error in self.dropped.items() if ahead(where)}
        self.reported = {where for where in self.reported if ahead(where)}
        self.failed = False
