"""Decode and validate one input record: an event to hold, or why it is a dead letter.

Checks, in order: the value decodes as the topic's record kind (size, format, schema,
fields); the message key is the record's ``customer_id`` (the key is what partitions a
customer's records); the record is on the partition its key belongs on (``partitioning``:
never decide against another partition's state); the event time ``ts`` is in milliseconds
(``timecheck``) and plausible against the wall clock (limits of 0 are off). An unreachable
schema registry is no fault of the record: :class:`RetryLater` asks the runtime to read it
again after a pause, and only after the last attempt is the record dead-lettered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from guardrail.core.records import Event
from guardrail.kafka.serde import DecodeError
from guardrail.pipeline.partitioning import wrong_partition
from guardrail.pipeline.ports import Codec
from guardrail.pipeline.records import InputRecord
from guardrail.pipeline.timecheck import seconds_problem

log = logging.getLogger(__name__)

REGISTRY_RETRIES = 10
MAX_RETRY_DELAY_S = 10.0


@dataclass(frozen=True, slots=True)
class Limits:
    """What a valid record must meet; 0 = off: event-time limits against the wall clock, in
    ms, the lowest plausible ``ts`` (below: seconds, not ms), the input partition count."""

    max_future_ms: int = 0
    max_past_ms: int = 0
    min_ts_ms: int = 0
    partitions: int = 0


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that goes to the dead-letter topic: ``error_kind`` (a metric label) and the
    one-line ``error`` the dead letter carries."""

    error_kind: str
    error: str


class RetryLater(Exception):
    """The schema registry is unavailable: give the record again after ``delay_s``."""

    def __init__(self, delay_s: float, message: str) -> None:
        super().__init__(message)
        self.delay_s = delay_s


def decode(codec: Codec, kind: str, record: InputRecord, attempt: int = 0) -> Event | Rejected:
    """The event in ``record`` (a ``kind`` record), or why it is rejected.

    Raises :class:`RetryLater` on a transient failure while attempts remain.
    """
    try:
        event: Event = codec.decode(kind, record.value)  # type: ignore[assignment]
    except DecodeError as exc:
        if exc.transient and attempt + 1 < REGISTRY_RETRIES:
            log.warning("schema registry unavailable, retrying: %s", exc.message)
            raise RetryLater(min(2.0**attempt, MAX_RETRY_DELAY_S), exc.message) from None
        return Rejected(exc.error_kind, str(exc))
    except Exception as exc:  # a decoder bug must not stop the stream either
        where = (record.topic, record.partition, record.offset)
        log.error("decode failed on %s[%d]@%d: %s", *where, type(exc).__name__)
        return Rejected("internal_error", f"internal_error: decoding raised {type(exc).__name__}")
    return event


def check(event: Event, record: InputRecord, limits: Limits, now_ms: int) -> Rejected | None:
    """Why a decoded ``event`` cannot be decided as it stands, or None."""
    if record.key != event.customer_id.encode():
        return Rejected("key_mismatch", "key_mismatch: message key is not the customer_id")
    wrong = wrong_partition(record.key, record.partition, limits.partitions)
    if wrong is not None:
        return Rejected("wrong_partition", wrong)
    problem = ts_problem(event.ts, limits, now_ms)
    if problem is not None:
        return Rejected("ts_out_of_range", f"ts_out_of_range: {problem}")
    return None


def ts_problem(ts: int, limits: Limits, now_ms: int) -> str | None:
    """Why event time ``ts`` is implausible against the wall clock ``now_ms``, or None."""
    seconds = seconds_problem(ts, limits.min_ts_ms)
    if seconds is not None:
        return seconds
    ahead, behind = limits.max_future_ms, limits.max_past_ms
    if ahead and ts > now_ms + ahead:
        return f"ts {ts} is more than max_future_ms={ahead} ahead of the wall clock"
    if behind and ts < now_ms - behind:
        return f"ts {ts} is more than max_past_ms={behind} behind the wall clock"
    return None
