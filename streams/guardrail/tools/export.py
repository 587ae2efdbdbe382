"""`guardrail export`: the input topics between two times as a replay file.

Reads the five input topics (``assign``, no consumer group, nothing committed) from the
first record with a Kafka timestamp at or after ``since`` to the last before ``until``
(the ends captured at start), decodes each value (JSON, or Avro in the Confluent wire format
with the schema registry) and writes the contract's replay lines in per-customer event order:
customer by customer, each customer's events by ``ts`` (signals before recommendations at
the same ``ts``, then arrival order). The ordering is an external merge sort
(:mod:`guardrail.tools.spill_sort`), so memory stays bounded whatever the range holds.
Records the worker would dead-letter (undecodable, invalid) are counted by error kind and
left out. With ``decisions_out``, the output topics' decisions of the same range are written
too, in the same order (approved ones from their ``guardrail-decision`` header).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from confluent_kafka import Consumer

from guardrail.config import Settings
from guardrail.core.records import Decision, decision_to_json
from guardrail.errors import InputError
from guardrail.kafka import serde
from guardrail.kafka.bounds import decision_from_output
from guardrail.tools.outcomes import replay_line
from guardrail.tools.spill_sort import DEFAULT_CHUNK, SpillSorter
from guardrail.tools.topic_reader import consumer_for, offset_ranges, read_range, size

#: ``progress(stage, records read so far, records to read)``
Progress = Callable[[str, int, int], None]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_DURATIONS = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


class TimeError(InputError):
    """A --since/--until value that is no time."""


def parse_time(value: str, now_ms: int) -> int:
    """Epoch ms of ``value``: ISO 8601 (UTC unless it names a zone), epoch ms, or a duration
    before ``now_ms`` (``24h``, ``90m``, ``7d``, ``1d12h``)."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    if _DURATIONS.fullmatch(text):
        total = sum(float(n) * _UNIT_MS[u] for n, u in _DURATION.findall(text))
        return now_ms - int(total)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TimeError(
            f"{value!r} is not an ISO 8601 time, epoch ms, or a duration like 24h"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@dataclass
class ExportResult:
    events: int = 0
    decisions: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # error kind -> records left out
    read: int = 0
    spill_files: int = 0
    seconds: float = 0.0


class Exporter:
    """One export run over the topics of ``settings``."""

    def __init__(
        self,
        settings: Settings,
        since_ms: int | None,
        until_ms: int | None,
        *,
        chunk: int = DEFAULT_CHUNK,
        progress: Progress | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.since_ms, self.until_ms = since_ms, until_ms
        self.chunk, self.workdir = chunk, workdir
        self.progress = progress
        registry = serde.registry_client_or_none(settings.schema_registry_url)
        self.codec = serde.Codec(registry, max_value_bytes=1 << 62)
        self.result = ExportResult()
        self._total = 0
        self._last_report = 0.0
        self._seq = 0

    def _count(self, stage: str) -> Callable[[int], None]:
        def on_batch(n: int) -> None:
            self.result.read += n
            now = time.monotonic()
            if self.progress is not None and now - self._last_report >= 1.0:
                self._last_report = now
                self.progress(stage, self.result.read, self._total)

        return on_batch

    def _in_range(self, message: Any) -> bool:
        """The offsets come from Kafka's time index, which assumes record times rise; a
        record out of step inside them is checked here."""
        _, at = message.timestamp()
        if self.since_ms is not None and at < self.since_ms:
            return False
        return self.until_ms is None or at < self.until_ms

    def _events(self, consumer: Consumer, sorter: SpillSorter) -> None:
        topics = self.settings.input_topics()
        since, until = self.since_ms, self.until_ms
        ranges = {k: offset_ranges(consumer, t, since, until) for k, t in topics.items()}
        self._total += sum(size(r) for r in ranges.values())
        for kind, topic in topics.items():
            rank = 1 if kind == "recommendation" else 0
            for message in read_range(consumer, topic, ranges[kind], self._count(topic)):
                if not self._in_range(message):
                    continue
                try:
                    event = self.codec.decode(kind, message.value())
                except serde.DecodeError as exc:
                    if exc.transient:
                        raise
                    self.result.skipped[exc.error_kind] += 1
                    continue
                self._seq += 1
                key = (event.customer_id, event.ts, rank, self._seq)  # type: ignore[attr-defined]
                sorter.add(key, replay_line(event))  # type: ignore[arg-type]

    def _decisions(self, consumer: Consumer, sorter: SpillSorter) -> None:
        outputs = self.settings.output_topics()
        for kind in ("approved", "suppressed"):
            topic = outputs[kind]
            ranges = offset_ranges(consumer, topic, self.since_ms, self.until_ms)
            self._total += size(ranges)
            for message in read_range(consumer, topic, ranges, self._count(topic)):
                if not self._in_range(message):
                    continue
                decision = self._decision(kind, message)
                if decision is None:
                    self.result.skipped["unreadable_decision"] += 1
                    continue
                self._seq += 1
                key = (decision.customer_id, decision.ts, self._seq)
                sorter.add(key, decision_to_json(decision))

    def _decision(self, kind: str, message: Any) -> Decision | None:
        try:
            return decision_from_output(kind, message.value(), message.headers(), self.codec)
        except serde.DecodeError as exc:
            if exc.transient:
                raise
        return None

    def run(self, out: IO[str], decisions_out: IO[str] | None = None) -> ExportResult:
        started = time.monotonic()
        consumer = consumer_for(self.settings, "export")
        events = SpillSorter(self.chunk, self.workdir)
        decisions = SpillSorter(self.chunk, self.workdir)
        try:
            self._events(consumer, events)
            if decisions_out is not None:
                self._decisions(consumer, decisions)
        finally:
            consumer.close()
        self.result.spill_files = events.spills + decisions.spills
        self.result.events = _write(events.sorted_lines(), out)
        if decisions_out is not None:
            self.result.decisions = _write(decisions.sorted_lines(), decisions_out)
        decisions.close()
        self.result.seconds = time.monotonic() - started
        if self.progress is not None:
            self.progress("done", self.result.read, self._total)
        return self.result


def _write(lines: Iterable[str], out: IO[str]) -> int:
    n = 0
    for line in lines:
        out.write(line)
        out.write("\n")
        n += 1
    out.flush()
    return n
