"""What a policy did to a stream: each recommendation as proposed, with its decision.

`guardrail diff`, `report` and `explain` read either a replay file (events: replayed here
with the pure core, so the proposal is known) or a decisions file (one Decision per line, as
`guardrail replay` writes or `guardrail export --decisions` reads from the output topics;
the proposal is unknown there). Both are streamed line by line: nothing holds the whole file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import orjson
from pydantic import ValidationError

from guardrail.core.policy import Policy
from guardrail.core.records import Decision, Event, Recommendation, event_type
from guardrail.core.replay import LineError, Replayer, parse_line
from guardrail.core.validation import one_line
from guardrail.errors import InputError

Kind = Literal["events", "decisions"]


@dataclass(frozen=True)
class Outcome:
    """One recommendation: ``proposed`` is None when only the decision is known."""

    proposed: Recommendation | None
    decision: Decision


@dataclass
class Rejected:
    """Lines that could not be read, as ``(line number, reason)``."""

    lines: list[tuple[int, str]] = field(default_factory=list)

    def add(self, number: int, reason: str) -> None:
        self.lines.append((number, reason))


def sniff(path: Path) -> Kind:
    """``events`` when the first record has a ``type``, ``decisions`` when it has ``action``."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                raise InputError(f"{path}: first line is not JSON") from None
            if isinstance(doc, dict) and "type" in doc:
                return "events"
            if isinstance(doc, dict) and "action" in doc and "rec_id" in doc:
                return "decisions"
            raise InputError(f"{path}: first record is neither an event nor a decision")
    raise InputError(f"{path}: empty file")


def replay_many(
    lines: Iterable[str], policies: list[Policy], rejected: Rejected
) -> Iterator[tuple[Recommendation, list[Decision]]]:
    """Each recommendation with one decision per policy, in file order (one pass)."""
    replays = [Replayer(policy) for policy in policies]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = parse_line(line)
        except LineError as exc:
            rejected.add(number, str(exc))
            continue
        decisions = [replay.apply(event) for replay in replays]
        if isinstance(event, Recommendation):
            yield event, [d for d in decisions if d is not None]


def replay_outcomes(lines: Iterable[str], policy: Policy, rejected: Rejected) -> Iterator[Outcome]:
    for proposed, (decision,) in replay_many(lines, [policy], rejected):
        yield Outcome(proposed, decision)


def read_decisions(lines: Iterable[str], rejected: Rejected) -> Iterator[Outcome]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            decision = Decision.model_validate_json(line)
        except ValidationError as exc:
            rejected.add(number, f"not a decision: {one_line(exc)}")
            continue
        yield Outcome(None, decision)


def outcomes(handle: IO[str], kind: Kind, policy: Policy, rejected: Rejected) -> Iterator[Outcome]:
    """The outcomes of an open file of ``kind`` (events are replayed with ``policy``)."""
    if kind == "events":
        return replay_outcomes(handle, policy, rejected)
    return read_decisions(handle, rejected)


def replay_line(event: Event) -> str:
    """One line of a replay file: the record's fields with its ``type``."""
    return orjson.dumps({"type": event_type(event), **event.model_dump()}).decode()
