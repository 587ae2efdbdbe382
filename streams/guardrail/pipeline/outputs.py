"""The output records: approved (with the decision header), suppressed, dead letter."""

from __future__ import annotations

from collections.abc import Mapping

from guardrail.config import DECISION_HEADER
from guardrail.core.records import DeadLetter, Decision
from guardrail.kafka import bounds
from guardrail.pipeline.ports import Codec
from guardrail.pipeline.records import InputRecord, OutputRecord


class Outputs:
    """Builds output records for the output topics ``topics`` (logical name -> topic)."""

    __slots__ = ("approved", "codec", "deadletter", "suppressed")

    def __init__(self, codec: Codec, topics: Mapping[str, str]) -> None:
        self.codec = codec
        self.approved = topics["approved"]
        self.suppressed = topics["suppressed"]
        self.deadletter = topics["deadletter"]

    def decision(
        self, key: bytes, decision: Decision, source: InputRecord | None = None
    ) -> OutputRecord:
        """An approved recommendation (the full decision rides in a header), or the
        suppressed decision itself."""
        if decision.recommendation is not None:
            topic = self.approved
            value = self.codec.encode("recommendation", decision.recommendation, topic)
            # the decision without its recommendation (the value): bounded like the value
            headers = {DECISION_HEADER: bounds.decision_header(decision)}
            return OutputRecord("approved", topic, key, value, headers, source)
        topic = self.suppressed
        value = self.codec.encode("decision", decision, topic)
        return OutputRecord("suppressed", topic, key, value, {}, source)

    def dead_letter(self, record: InputRecord, error: str, now_ms: int) -> OutputRecord:
        """``record`` as it came (a long value cut, named by size and hash in ``error``),
        with where it came from and why it was refused."""
        value, error = bounds.bounded_dead_letter_value(record.value, error)
        letter = DeadLetter(
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=value,
            error=error,
            ts=now_ms,
        )
        topic = self.deadletter
        value = self.codec.encode("deadletter", letter, topic)
        return OutputRecord("deadletter", topic, record.key, value, None, record)
