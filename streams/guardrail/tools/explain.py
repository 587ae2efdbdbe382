"""`guardrail explain`: why a recommendation got its decision, from the output topics or a file.

On Kafka, the approved topic carries each Decision as JSON in the ``guardrail-decision``
header (the value is the sent recommendation); the suppressed topic carries the Decision as
its value (JSON, or Avro with the registry). A customer's records are recognised by their
key before anything is decoded. The copy as proposed (the "before") is looked up on the
proposed topic for the decisions found. In a file: a decisions file, or a replay file (then
replayed with the given policy, the proposals known).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from guardrail.config import Settings
from guardrail.core.policy import Policy
from guardrail.core.records import Decision, Recommendation
from guardrail.kafka import serde
from guardrail.kafka.bounds import decision_from_output
from guardrail.tools.outcomes import Outcome, Rejected, outcomes, sniff
from guardrail.tools.topic_reader import consumer_for, offset_ranges, read_range


@dataclass(frozen=True)
class Query:
    """Either a ``rec_id`` or a ``customer`` (with the ``last`` N decisions)."""

    rec_id: str | None = None
    customer: str | None = None
    last: int = 1

    def matches(self, decision: Decision) -> bool:
        if self.rec_id is not None:
            return decision.rec_id == self.rec_id
        return decision.customer_id == self.customer


@dataclass(frozen=True)
class Found:
    outcome: Outcome
    where: str  # topic[partition]@offset, or file:line


def _keep(found: list[Found], query: Query) -> list[Found]:
    """The newest ``last`` decisions (by ts), oldest first; every one for a rec_id."""
    ordered = sorted(found, key=lambda f: f.outcome.decision.ts)
    return ordered if query.rec_id is not None else ordered[-query.last :]


def from_file(path: Path, query: Query, policy: Policy) -> list[Found]:
    kind = sniff(path)
    found: list[Found] = []
    with path.open(encoding="utf-8") as handle:
        for number, outcome in enumerate(outcomes(handle, kind, policy, Rejected()), start=1):
            if query.matches(outcome.decision):
                where = f"{path} (decision {number})"
                found.append(Found(outcome, where))
    return _keep(found, query)


class TopicSearch:
    """Searches the output topics (and then the proposed one) of ``settings``."""

    def __init__(self, settings: Settings, since_ms: int | None = None) -> None:
        self.settings = settings
        self.since_ms = since_ms
        registry = serde.registry_client_or_none(settings.schema_registry_url)
        self.codec = serde.Codec(registry, max_value_bytes=1 << 62)
        self.key = b""

    def _candidates(self, topic: str, query: Query, needle: bytes | None) -> Iterator[Any]:
        consumer = consumer_for(self.settings, "explain")
        try:
            ranges = offset_ranges(consumer, topic, self.since_ms)
            for message in read_range(consumer, topic, ranges):
                if query.customer is not None and message.key() != self.key:
                    continue
                if needle is not None and not _mentions(message, needle):
                    continue
                yield message
        finally:
            consumer.close()

    def _decision(self, kind: str, message: Any) -> Decision | None:
        try:
            return decision_from_output(kind, message.value(), message.headers(), self.codec)
        except serde.DecodeError:
            return None
        return None

    def decisions(self, query: Query) -> list[Found]:
        self.key = (query.customer or "").encode()
        needle = _rec_needle(query.rec_id)
        found: list[Found] = []
        outputs = self.settings.output_topics()
        for kind in ("approved", "suppressed"):
            for message in self._candidates(outputs[kind], query, needle):
                decision = self._decision(kind, message)
                if decision is not None and query.matches(decision):
                    where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
                    found.append(Found(Outcome(None, decision), where))
        return _keep(found, query)

    def with_proposals(self, found: list[Found]) -> list[Found]:
        """The same, each with its recommendation as proposed when the topic still has it."""
        wanted = {f.outcome.decision.rec_id: f for f in found}
        keys = {f.outcome.decision.customer_id.encode() for f in found}
        proposals: dict[str, Recommendation] = {}
        consumer = consumer_for(self.settings, "explain")
        topic = self.settings.topic("recommendation")
        try:
            for message in read_range(consumer, topic, offset_ranges(consumer, topic)):
                if message.key() not in keys:
                    continue
                try:
                    rec = self.codec.decode("recommendation", message.value())
                except serde.DecodeError:
                    continue
                if isinstance(rec, Recommendation) and rec.rec_id in wanted:
                    proposals[rec.rec_id] = rec
        finally:
            consumer.close()
        return [
            Found(Outcome(proposals.get(f.outcome.decision.rec_id), f.outcome.decision), f.where)
            for f in found
        ]


def _rec_needle(rec_id: str | None) -> bytes | None:
    """Bytes a record about ``rec_id`` must contain (JSON or Avro alike hold the id's UTF-8)."""
    return rec_id.encode() if rec_id is not None else None


def _mentions(message: Any, needle: bytes) -> bool:
    if needle in (message.value() or b""):
        return True
    return any(needle in (value or b"") for _, value in message.headers() or ())


def _when(ms: int | None) -> str:
    if ms is None:
        return "none"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _copy_lines(label: str, rec: Recommendation | None, missing: str) -> Iterable[str]:
    if rec is None:
        yield f"  {label}: {missing}"
        return
    yield f"  {label}: [{rec.channel}] {rec.title or '(no title)'}"
    yield f"    body: {rec.body}"
    items = ", ".join(f"{i.sku} ({i.category})" for i in rec.items) or "none"
    yield f"    items: {items}"
    if rec.deliver_after is not None:
        yield f"    deliver after: {_when(rec.deliver_after)}"


def describe(found: Found) -> Iterable[str]:
    """One decision, fully: action, every reason with its detail, shadow reasons, version,
    explanation, and the copy before and after."""
    decision, proposed = found.outcome.decision, found.outcome.proposed
    yield f"rec {decision.rec_id}  customer {decision.customer_id}  {_when(decision.ts)}"
    yield f"  found in: {found.where}"
    yield f"  action: {decision.action}"
    yield f"  policy_version: {decision.policy_version}"
    if getattr(decision, "holdout", False):
        yield "  holdout: yes (the customer is in the policy's holdout group)"
    enforced = [r for r in decision.reasons if not r.shadow]
    shadow = [r for r in decision.reasons if r.shadow]
    yield "  reasons:" if enforced else "  reasons: none (no rule fired)"
    for reason in enforced:
        yield f"    {reason.code}: {reason.detail}"
    if shadow:
        yield "  shadow reasons (recorded, did not change the action):"
        for reason in shadow:
            yield f"    {reason.code}: {reason.detail}"
    yield f"  explanation: {decision.explanation or 'none'}"
    yield from _copy_lines("before", proposed, "not found (the proposal is no longer readable)")
    sent = decision.recommendation
    yield from _copy_lines("after", sent, "not sent (suppressed)")
