"""`guardrail audit`: prove conservation, every proposed recommendation accounted for.

Reads the proposed topic and the three output topics (approved, suppressed, dead-letter), each
up to the end offsets captured when the audit starts (the proposed topic's first, so a
proposal the worker has not handled yet shows as missing rather than being half-read), and
reports:

- counts per topic, and the dead letters by error kind
  (``guardrail.metrics.metric_set.ERROR_KINDS``);
- **missing**: proposed ``rec_id``s with fewer decisions than proposals that were not
  dead-lettered either (a dead letter names its source partition and offset);
- **duplicates**: decisions beyond the number of proposals of a ``rec_id``, and whether each
  is identical to the first decision (the decision JSON compared byte for byte: the
  ``guardrail-decision`` header of an approved record, the value of a suppressed one).

A ``rec_id`` proposed twice that gets two (identical) decisions is not a duplicate: the
engine remembers recent ``rec_id``s and answers a redelivery with the same decision. With a
time range (``since_ms``/``until_ms``, Kafka record timestamps) only proposals in the range
are audited; the outputs are read from ``since_ms`` to their end, and decisions whose
proposal lies outside the range are counted as ``outside_range``, not as duplicates.

Reading uses ``assign`` (no consumer group, nothing committed) and only parses what it needs
(the ``rec_id`` of a JSON value, the decision header), so a million records take seconds.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaException

from guardrail.config import DECISION_HEADER, Settings
from guardrail.core.records import DeadLetter, decision_to_json
from guardrail.errors import AuditError
from guardrail.kafka import serde
from guardrail.kafka.bounds import decision_from_output
from guardrail.tools.topic_reader import Ranges, ReadError, offset_ranges, read_range, size

#: ``progress(topic, records read so far in all topics, records to read in all topics)``
Progress = Callable[[str, int, int], None]
TopicRanges = tuple[str, Ranges]  # a topic and its partitions' (start, end) offsets

_OURS = b'{"rec_id":"'


@dataclass
class AuditReport:
    """What the audit found. ``ok`` is False when anything is missing or a duplicate differs."""

    proposed: int = 0
    proposed_rec_ids: int = 0  # distinct rec_ids among the proposals
    proposed_unreadable: int = 0  # no rec_id could be read (fine when dead-lettered)
    approved: int = 0
    suppressed: int = 0
    dead_letters: int = 0  # every dead letter, whatever its source topic
    dead_lettered_proposed: int = 0
    dead_letters_by_kind: dict[str, int] = field(default_factory=dict)
    missing_count: int = 0
    missing: list[str] = field(default_factory=list)  # rec_ids, or topic[partition]@offset
    duplicates: int = 0  # decisions beyond the proposals of their rec_id
    duplicated_rec_ids: int = 0
    duplicates_differing: int = 0  # rec_ids whose extra decisions differ from the first
    duplicated: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    outside_range: int = 0  # decisions with no proposal among those read
    # With an events file to compare with (``--compare``): decisions checked against the
    # pure replay of that file, rec_ids whose first decision on the topics differs from it,
    # and rec_ids of the replay that have no decision on the topics.
    compared: int = 0
    compare_differing_count: int = 0
    compare_differing: list[str] = field(default_factory=list)
    compare_missing: int = 0
    records_read: int = 0
    seconds: float = 0.0

    @property
    def records_per_s(self) -> float:
        return self.records_read / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        return (
            self.missing_count == 0
            and self.duplicates_differing == 0
            and self.compare_differing_count == 0
            and self.compare_missing == 0
        )

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["records_per_s"] = round(self.records_per_s, 1)
        doc["seconds"] = round(self.seconds, 3)
        doc["ok"] = self.ok
        return doc


@dataclass
class _Decisions:
    count: int
    digest: bytes
    differs: bool = False


def _kind_of_error(error: str) -> str:
    """The error kind a dead letter's ``error`` starts with (``kind: detail``)."""
    kind = error.split(":", 1)[0].strip()
    return kind if kind and " " not in kind else "unknown"


class Auditor:
    """One audit run over the topics of ``settings``."""

    def __init__(
        self,
        settings: Settings,
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
        show: int = 20,
        progress: Progress | None = None,
        expected: dict[str, bytes] | None = None,
    ) -> None:
        self.settings = settings
        # rec_id -> the pure replay's decision (canonical JSON), when comparing
        self.expected = expected
        self.first_seen: dict[str, bytes] = {}
        self.since_ms = since_ms
        self.until_ms = until_ms
        self.show = show
        self.progress = progress
        registry = serde.registry_client_or_none(settings.schema_registry_url)
        self.codec = serde.Codec(registry, max_value_bytes=1 << 62)
        self.report = AuditReport()
        self.proposed_topic = settings.topic("recommendation")
        self.dead_positions: set[tuple[int, int]] = set()
        self.decisions: dict[str, _Decisions] = {}
        self.proposals: Counter[str] = Counter()
        self.unreadable: list[str] = []
        self._read = 0
        self._total = 0

    # -- offsets ----------------------------------------------------------------------------

    def _ranges(self, consumer: Consumer, topic: str, until_ms: int | None) -> TopicRanges:
        try:
            return topic, offset_ranges(consumer, topic, self.since_ms, until_ms)
        except ReadError as exc:
            raise AuditError(str(exc)) from None

    # -- reading ----------------------------------------------------------------------------

    def _consume(
        self, consumer: Consumer, topic_ranges: TopicRanges, handle: Callable[[Any], None]
    ) -> None:
        """Feed ``handle`` every record of one topic's ranges, up to the captured ends."""
        topic, ranges = topic_ranges
        last_report = time.monotonic()

        def counted(handled: int) -> None:
            nonlocal last_report
            self._read += handled
            now = time.monotonic()
            if self.progress is not None and now - last_report >= 1.0:
                self.progress(topic, self._read, self._total)
                last_report = now

        try:
            for message in read_range(consumer, topic, ranges, counted):
                handle(message)
        except ReadError as exc:
            raise AuditError(str(exc)) from None

    def _on_dead_letter(self, message: Any) -> None:
        self.report.dead_letters += 1
        try:
            letter = self.codec.decode("deadletter", message.value())
        except serde.DecodeError:
            kind = "unreadable_dead_letter"
        else:
            assert isinstance(letter, DeadLetter)
            kind = _kind_of_error(letter.error)
            if letter.source_topic == self.proposed_topic:
                self.dead_positions.add((letter.partition, letter.offset))
        by_kind = self.report.dead_letters_by_kind
        by_kind[kind] = by_kind.get(kind, 0) + 1

    def _decision_json(self, message: Any, approved: bool) -> bytes | None:
        if approved:
            for name, value in message.headers() or ():
                if name == DECISION_HEADER and isinstance(value, bytes):
                    return value
            return None
        value = message.value()
        if not value:
            return None
        if value[0] != serde.MAGIC:
            return bytes(value)
        try:
            decision = self.codec.decode("decision", value)
        except serde.DecodeError:
            return None
        return serde.encode_json(decision)

    def _on_decision(self, message: Any, approved: bool) -> None:
        if approved:
            self.report.approved += 1
        else:
            self.report.suppressed += 1
        doc = self._decision_json(message, approved)
        rec_id = _json_rec_id(doc) if doc is not None else None
        if doc is None or rec_id is None:
            where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
            raise AuditError(f"{where} carries no readable decision")
        if self.expected is not None and rec_id not in self.first_seen:
            full = decision_from_output(
                "approved" if approved else "suppressed",
                message.value(),
                message.headers(),
                self.codec,
            )
            if full is not None:
                self.first_seen[rec_id] = decision_to_json(full).encode()
        digest = hashlib.blake2b(doc, digest_size=16).digest()
        seen = self.decisions.get(rec_id)
        if seen is None:
            self.decisions[rec_id] = _Decisions(1, digest)
        else:
            seen.count += 1
            if digest != seen.digest:
                seen.differs = True

    def _on_proposal(self, message: Any) -> None:
        self.report.proposed += 1
        position = (message.partition(), message.offset())
        if position in self.dead_positions:
            self.report.dead_lettered_proposed += 1
            return
        rec_id = self._proposal_rec_id(message.value())
        if rec_id is None:
            self.report.proposed_unreadable += 1
            self.unreadable.append(f"{message.topic()}[{position[0]}]@{position[1]}")
            return
        self.proposals[rec_id] += 1

    def _proposal_rec_id(self, value: bytes | None) -> str | None:
        if not value:
            return None
        if value[0] != serde.MAGIC:
            return _json_rec_id(value)
        try:
            return str(self.codec.decode("recommendation", value).rec_id)  # type: ignore[attr-defined]
        except serde.DecodeError as exc:
            if exc.transient:
                raise AuditError(f"schema registry unavailable: {exc.message}") from None
            return None

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> AuditReport:
        started = time.monotonic()
        outputs = self.settings.output_topics()
        consumer = Consumer(
            {
                **self.settings.confluent_config(),
                "group.id": f"guardrail-audit-{uuid.uuid4().hex[:12]}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
                "fetch.max.bytes": 64 * 1024 * 1024,
                "max.partition.fetch.bytes": 8 * 1024 * 1024,
            }
        )
        try:
            # The proposed topic's ends first: every proposal read may have its outputs read.
            proposed = self._ranges(consumer, self.proposed_topic, self.until_ms)
            approved = self._ranges(consumer, outputs["approved"], None)
            suppressed = self._ranges(consumer, outputs["suppressed"], None)
            dead = self._ranges(consumer, outputs["deadletter"], None)
            self._total = sum(size(ranges) for _, ranges in (proposed, approved, suppressed, dead))
            self._consume(consumer, dead, self._on_dead_letter)
            self._consume(consumer, approved, lambda m: self._on_decision(m, True))
            self._consume(consumer, suppressed, lambda m: self._on_decision(m, False))
            self._consume(consumer, proposed, self._on_proposal)
        except KafkaException as exc:
            raise AuditError(f"reading Kafka failed: {exc.args[0]}") from None
        finally:
            consumer.close()
        self._tally()
        self.report.records_read = self._read
        self.report.seconds = time.monotonic() - started
        if self.progress is not None:
            self.progress("done", self._read, self._total)
        return self.report

    def _tally(self) -> None:
        report = self.report
        report.proposed_rec_ids = len(self.proposals)
        missing: list[str] = list(self.unreadable)
        for rec_id, n in self.proposals.items():
            seen = self.decisions.get(rec_id)
            got = seen.count if seen is not None else 0
            if got < n:
                report.missing_count += n - got
                missing.append(rec_id)
        report.missing_count += len(self.unreadable)
        report.missing = sorted(missing)[: self.show]
        duplicated: list[str] = []
        differing: list[str] = []
        for rec_id, seen in self.decisions.items():
            n = self.proposals.get(rec_id, 0)
            if n == 0:
                report.outside_range += seen.count
                continue
            if seen.count > n:
                report.duplicates += seen.count - n
                duplicated.append(rec_id)
                if seen.differs:  # a re-proposal may be re-decided; a redelivery may not
                    differing.append(rec_id)
        report.duplicated_rec_ids = len(duplicated)
        report.duplicates_differing = len(differing)
        report.duplicated = sorted(duplicated)[: self.show]
        report.differing = sorted(differing)[: self.show]
        if self.expected is not None:
            self._compare(self.expected)

    def _compare(self, expected: dict[str, bytes]) -> None:
        report = self.report
        differing = []
        for rec_id, want in expected.items():
            got = self.first_seen.get(rec_id)
            if got is None:
                report.compare_missing += 1
                continue
            report.compared += 1
            if got != want:
                differing.append(rec_id)
        report.compare_differing_count = len(differing)
        report.compare_differing = sorted(differing)[: self.show]


def _json_rec_id(value: bytes) -> str | None:
    """The top-level ``rec_id`` of a JSON record (a fast path for our own encoding)."""
    if value.startswith(_OURS):  # model_dump_json puts rec_id first
        end = value.find(b'"', len(_OURS))
        if end > 0 and b"\\" not in value[len(_OURS) : end]:
            try:
                return value[len(_OURS) : end].decode()
            except UnicodeDecodeError:
                return None
    try:
        doc = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    rec_id = doc.get("rec_id") if isinstance(doc, dict) else None
    return rec_id if isinstance(rec_id, str) else None


def audit(
    settings: Settings,
    *,
    since_ms: int | None = None,
    until_ms: int | None = None,
    show: int = 20,
    progress: Progress | None = None,
    expected: dict[str, bytes] | None = None,
) -> AuditReport:
    """Audit the topics of ``settings`` (see the module docstring); with ``expected``
    (:func:`expected_decisions`), also compare every decision with the pure replay."""
    return Auditor(
        settings,
        since_ms=since_ms,
        until_ms=until_ms,
        show=show,
        progress=progress,
        expected=expected,
    ).run()


def expected_decisions(lines: Iterable[str], policy: Any) -> dict[str, bytes]:
    """rec_id -> canonical JSON of the pure replay's (first) decision on ``lines``."""
    from guardrail.core.replay import Replayer

    expected: dict[str, bytes] = {}
    for decision in Replayer(policy).replay_lines(lines):
        expected.setdefault(decision.rec_id, decision_to_json(decision).encode())
    return expected


def describe(report: AuditReport, settings: Settings) -> Iterable[str]:
    """The human-readable report, line by line."""
    width = 12

    def row(label: str, value: int, note: str = "") -> str:
        return f"  {label:<22}{value:>{width},}{'  ' + note if note else ''}"

    yield f"audit of {settings.topic('recommendation')} and its outputs:"
    unreadable = f"{report.proposed_unreadable:,} without a readable rec_id, not dead-lettered"
    yield row("proposed", report.proposed, unreadable if report.proposed_unreadable else "")
    yield row("approved", report.approved)
    yield row("suppressed", report.suppressed)
    yield row("dead-lettered proposals", report.dead_lettered_proposed)
    kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(report.dead_letters_by_kind.items()))
    yield row("dead letters (all)", report.dead_letters, kinds)
    yield row("missing", report.missing_count, " ".join(report.missing))
    if report.duplicates:
        same = (
            "all identical to the first"
            if not report.duplicates_differing
            else f"{report.duplicates_differing:,} rec_ids DIFFER: {' '.join(report.differing)}"
        )
        note = f"on {report.duplicated_rec_ids:,} rec_ids, {same}"
        yield row("duplicate decisions", report.duplicates, note)
    else:
        yield row("duplicate decisions", 0)
    if report.compared or report.compare_missing:
        note = (
            "all equal to the pure replay"
            if not report.compare_differing_count
            else f"{report.compare_differing_count:,} DIFFER: {' '.join(report.compare_differing)}"
        )
        yield row("compared with replay", report.compared, note)
        if report.compare_missing:
            yield row("not decided on Kafka", report.compare_missing, "rec_ids of the replay")
    if report.outside_range:
        yield row("outside the range", report.outside_range, "decisions of unread proposals")
    yield (
        f"  read {report.records_read:,} records in {report.seconds:.1f} s "
        f"({report.records_per_s:,.0f} records/s)"
    )
    if report.ok:
        yield "OK: every proposal has its decision or its dead letter"
    else:
        yield "FAILED: missing decisions or differing duplicates"
