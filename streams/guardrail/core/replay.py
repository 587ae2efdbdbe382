"""Fold ``decide`` over a JSONL stream of events, with no broker: the replay file format.

Each line is one JSON object with a ``"type"`` (purchase, location, browsing, profile,
recommendation) and that record's fields. Lines are applied in file order; a malformed line is
reported and skipped, and never stops the run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from guardrail.core.engine import Engine
from guardrail.core.policy import Policy
from guardrail.core.records import EVENT_MODELS, Decision, Event, parse_event
from guardrail.core.state import EMPTY_STATE, CustomerState
from guardrail.core.validation import one_line
from guardrail.errors import InputError

#: Longest replay line accepted (a record's value may be at most 1 MiB on Kafka too).
MAX_LINE_BYTES = 1 << 20


class LineError(InputError):
    """A replay line that is not a valid event; the message says why."""


def decode_line(raw: bytes, max_bytes: int = MAX_LINE_BYTES) -> str:
    """One line of a replay file as text, or :class:`LineError` (too long, NUL, not UTF-8)."""
    if len(raw) > max_bytes:
        raise LineError(f"line is {len(raw):,} bytes, over the {max_bytes:,}-byte limit")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise LineError(f"holds a NUL byte at byte {nul + 1}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LineError(f"not valid UTF-8 at byte {exc.start + 1}") from None


def parse_line(line: str) -> Event:
    """Parse one replay line into an event, or raise :class:`LineError`."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LineError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise LineError(f"expected a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    if kind not in EVENT_MODELS:
        known = "|".join(EVENT_MODELS)
        raise LineError(f'missing or unknown "type" {kind!r} (expected {known})')
    try:
        return parse_event(kind, data)
    except ValidationError as exc:
        raise LineError(f"invalid {kind}: {one_line(exc)}") from None


@dataclass
class ReplaySummary:
    """What a replay did: counts by action and reason, and the rejected lines."""

    events: int = 0
    decisions: int = 0
    by_action: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def count(self, decision: Decision) -> None:
        self.decisions += 1
        self.by_action[decision.action] += 1
        for reason in decision.reasons:
            self.by_reason[reason.code + (" (shadow)" if reason.shadow else "")] += 1


class Replayer:
    """Holds every customer's state across calls, so a stream can be replayed in pieces."""

    def __init__(
        self, policy: Policy, states: MutableMapping[str, CustomerState] | None = None
    ) -> None:
        self.engine = Engine(policy)
        self.states: MutableMapping[str, CustomerState] = {} if states is None else states
        self.summary = ReplaySummary()

    def apply(self, event: Event) -> Decision | None:
        customer = event.customer_id
        state, decision = self.engine.decide(self.states.get(customer, EMPTY_STATE), event)
        if state.is_empty():
            self.states.pop(customer, None)
        else:
            self.states[customer] = state
        self.summary.events += 1
        if decision is not None:
            self.summary.count(decision)
        return decision

    def replay_lines(
        self, lines: Iterable[str | bytes | LineError], first_line: int = 1
    ) -> Iterator[Decision]:
        """Decisions in input order; bad lines land in ``summary.rejected``.

        A line may come as text, as raw bytes (checked by :func:`decode_line`), or as a
        :class:`LineError` the reader already found (a line too long to read whole).
        """
        for number, line in enumerate(lines, start=first_line):
            try:
                if isinstance(line, LineError):
                    raise line
                text = decode_line(line) if isinstance(line, bytes) else line
                if not text.strip():
                    continue
                event = parse_line(text)
            except LineError as exc:
                self.summary.rejected.append((number, str(exc)))
                continue
            decision = self.apply(event)
            if decision is not None:
                yield decision
