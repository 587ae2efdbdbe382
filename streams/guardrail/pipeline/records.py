"""The records that enter and leave the pipeline: raw bytes plus where they came from.

A runtime turns what its consumer returned into an :class:`InputRecord` and sends every
:class:`OutputRecord` the pipeline hands back with its producer; nothing here knows which
Kafka client is on either side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

OutputKind = Literal["approved", "suppressed", "deadletter"]


@dataclass(slots=True, eq=False)
class InputRecord:
    """One consumed record. Compared by identity: a record read again is a new one.

    ``handle`` is the runtime's own object for it (faust's event, say); the pipeline only
    passes it back to :meth:`guardrail.pipeline.ports.Acknowledge.ack`.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any = None
    timestamp: int | None = None  # the broker's, epoch ms; the pipeline goes by the event's ts
    handle: Any = None


@dataclass(frozen=True, slots=True)
class OutputRecord:
    """One record to produce: to ``topic`` (partitioned by ``key``), value and headers as bytes;
    ``source`` is the input record it answers (a runtime dead-letters that one when the
    broker refuses this)."""

    kind: OutputKind
    topic: str
    key: bytes | None
    value: bytes
    headers: Mapping[str, bytes] | None = None
    source: InputRecord | None = field(default=None, compare=False, repr=False)
