"""`guardrail diff`: the same events under two policies, and what changed.

Both policies are folded over the file in one pass with the pure core. A decision "changed"
when anything a customer or an auditor could see differs: the action, the reasons (with their
detail and shadow flag), the explanation or the final recommendation (policy versions aside,
they always differ). Counts are kept as they go; only the first ``examples`` changed
decisions are kept whole, so any length of file runs in bounded memory (the customers' states
aside, as in a replay).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from guardrail.core.policy import Policy
from guardrail.core.records import Decision, Recommendation
from guardrail.tools.outcomes import Rejected, replay_many


def day_of(ms: int) -> str:
    """The UTC day of an epoch-ms time, ``2026-01-03``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def comparable(decision: Decision) -> dict[str, Any]:
    """The decision as data without its policy version (which always differs)."""
    doc: dict[str, Any] = decision.model_dump(mode="json", exclude={"policy_version"})
    rec = doc.get("recommendation")
    if rec and rec.get("guardrail"):
        rec["guardrail"].pop("policy_version", None)
    return doc


def reason_codes(decision: Decision) -> set[str]:
    """Reason codes of a decision, shadow ones marked ``code (shadow)``."""
    return {r.code + (" (shadow)" if r.shadow else "") for r in decision.reasons}


@dataclass(frozen=True)
class Changed:
    """One recommendation whose decision differs between the policies."""

    proposed: Recommendation
    a: Decision
    b: Decision


@dataclass
class Tally:
    """Decisions and changed decisions under one key (a channel, a day)."""

    decisions: int = 0
    changed: int = 0


@dataclass
class DiffResult:
    label_a: str
    label_b: str
    version_a: str
    version_b: str
    decisions: int = 0
    changed: int = 0
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)  # changed only
    reasons_gained: Counter[str] = field(default_factory=Counter)  # under B, not A
    reasons_lost: Counter[str] = field(default_factory=Counter)  # under A, not B
    by_channel: dict[str, Tally] = field(default_factory=dict)
    by_day: dict[str, Tally] = field(default_factory=dict)
    examples: list[Changed] = field(default_factory=list)
    rejected: Rejected = field(default_factory=Rejected)
    actions_a: Counter[str] = field(default_factory=Counter)
    actions_b: Counter[str] = field(default_factory=Counter)

    def add(self, proposed: Recommendation, a: Decision, b: Decision, keep: int) -> None:
        self.decisions += 1
        self.actions_a[a.action] += 1
        self.actions_b[b.action] += 1
        channel = self.by_channel.setdefault(proposed.channel, Tally())
        day = self.by_day.setdefault(day_of(proposed.ts), Tally())
        channel.decisions += 1
        day.decisions += 1
        if a.action == b.action and comparable(a) == comparable(b):
            return
        self.changed += 1
        channel.changed += 1
        day.changed += 1
        self.transitions[(a.action, b.action)] += 1
        codes_a, codes_b = reason_codes(a), reason_codes(b)
        self.reasons_gained.update(codes_b - codes_a)
        self.reasons_lost.update(codes_a - codes_b)
        if len(self.examples) < keep:
            self.examples.append(Changed(proposed, a, b))


def diff_policies(
    lines: Iterable[str],
    a: Policy,
    b: Policy,
    *,
    label_a: str = "A",
    label_b: str = "B",
    examples: int = 10,
) -> DiffResult:
    """Replay ``lines`` under ``a`` and ``b`` and count what changed."""
    result = DiffResult(label_a, label_b, a.version, b.version)
    for proposed, (decision_a, decision_b) in replay_many(lines, [a, b], result.rejected):
        result.add(proposed, decision_a, decision_b, examples)
    result.by_day = dict(sorted(result.by_day.items()))
    return result


def transition_name(pair: tuple[str, str]) -> str:
    a, b = pair
    return f"{a} -> {b}" if a != b else f"{a} (reasons or copy differ)"


def describe(result: DiffResult) -> Iterable[str]:
    """The terminal report, line by line."""
    share = 100.0 * result.changed / result.decisions if result.decisions else 0.0
    yield f"A: {result.label_a} (policy_version {result.version_a})"
    yield f"B: {result.label_b} (policy_version {result.version_b})"
    yield f"{result.changed:,} of {result.decisions:,} decisions changed ({share:.1f}%)"
    yield ""
    yield "by action transition (A -> B):"
    for pair, count in result.transitions.most_common():
        yield f"  {transition_name(pair):<40} {count:>9,}"
    yield "by reason (changed decisions):"
    for code in sorted(set(result.reasons_gained) | set(result.reasons_lost)):
        gained, lost = result.reasons_gained[code], result.reasons_lost[code]
        yield f"  {code:<40} +{gained:<8,} -{lost:,}"
    for title, table in (("by channel", result.by_channel), ("by day", result.by_day)):
        yield f"{title} (changed / decisions):"
        for key, tally in table.items():
            yield f"  {key:<40} {tally.changed:>9,} / {tally.decisions:,}"
    if result.examples:
        yield ""
        yield f"first {len(result.examples)} changed decisions:"
    for changed in result.examples:
        yield from describe_change(changed)


def describe_change(changed: Changed) -> Iterable[str]:
    rec = changed.proposed
    actions = f"{changed.a.action} -> {changed.b.action}"
    yield f"- {rec.rec_id} ({rec.channel}, {day_of(rec.ts)}): {actions}"
    yield f"    proposed: {_copy(rec)}"
    for name, decision in (("A", changed.a), ("B", changed.b)):
        yield f"    {name}: {decision.action}"
        for reason in decision.reasons:
            shadow = " (shadow)" if reason.shadow else ""
            yield f"       {reason.code}{shadow}: {reason.detail}"
        final = decision.recommendation
        if final is not None:
            after = f", deliver after {_when(final.deliver_after)}" if final.deliver_after else ""
            yield f"       sends: {_copy(final)}{after}"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _copy(rec: Recommendation) -> str:
    title = f"{rec.title} | " if rec.title else ""
    return repr(title + rec.body)
