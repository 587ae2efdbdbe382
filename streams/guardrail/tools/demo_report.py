"""What `guardrail demo` prints: decision tables, before/after examples, the pure-replay check.

Pure functions from decisions to text (plain, fixed-width, no colour), so the output reads the
same in a terminal and in a log. Customer ids are never printed: examples say "customer c-…".
"""

from __future__ import annotations

import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from guardrail.core.reasons import FAMILIES, REASONS, family
from guardrail.core.records import ACTIONS, Decision, Recommendation, decision_to_json

# Which suppression makes the most telling example: one suppressed for being creepy first,
# then mistaken, consent, repetitive (the deferrals too_soon and quiet_hours never suppress).
_FAMILY_INTEREST = {"intrusive": 4, "mistaken": 3, "consent": 2, "repetitive": 1}
_DEFERRALS = {r.code for r in REASONS if r.effect == "defer"}
WIDTH = 96
MASKED_CUSTOMER = "customer c-…"


def heading(title: str) -> str:
    return f"\n{title}\n{'=' * len(title)}"


def percent(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:5.1f}%" if whole else "    -"


def when(ms: int | None) -> str:
    """Epoch milliseconds as ``2026-01-03 22:14 UTC`` (``none`` for None)."""
    if ms is None:
        return "none"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def decision_table(decisions: Sequence[Decision]) -> str:
    """Decisions by action (count, share), then by reason code (count, family)."""
    total = len(decisions)
    actions = Counter(d.action for d in decisions)
    reasons: Counter[str] = Counter()
    shadow: Counter[str] = Counter()
    for decision in decisions:
        for reason in decision.reasons:
            (shadow if reason.shadow else reasons)[reason.code] += 1
    lines = [heading(f"Decisions ({total:,} recommendations)"), "", "  by action"]
    for action in ACTIONS:
        lines.append(f"    {action:<10} {actions[action]:>7,}  {percent(actions[action], total)}")
    lines.append(f"    {'total':<10} {total:>7,}  {percent(total, total)}")
    lines += [
        "",
        "  by reason (every rule that fired, also when a stronger action won)",
        f"    {'reason code':<26} {'count':>7}  family",
    ]
    codes = sorted(
        reasons,
        key=lambda c: (
            FAMILIES.index(family(c)) if family(c) in FAMILIES else len(FAMILIES),
            -reasons[c],
            c,
        ),
    )
    for code in codes:
        lines.append(f"    {code:<26} {reasons[code]:>7,}  {family(code)}")
    for code in sorted(shadow):
        lines.append(f"    {code + ' (shadow)':<26} {shadow[code]:>7,}  {family(code)}")
    if not codes and not shadow:
        lines.append("    (no rule fired)")
    by_family: Counter[str] = Counter(dict.fromkeys(FAMILIES, 0))
    for code, count in reasons.items():
        by_family[family(code)] += count
    lines.append(
        "    families: " + ", ".join(f"{f} {by_family[f]:,}" for f in FAMILIES if f in by_family)
    )
    return "\n".join(lines)


@dataclass(frozen=True)
class Examples:
    rewrite: Decision | None
    suppression: Decision | None
    delivery: Decision | None
    coherent: Decision | None = None  # a rewrite that dropped copy naming a dropped item


# The detail a coherent rewrite adds to the reason that dropped the item (core/coherence.py).
_COHERENT = "naming a dropped item"


def _is_coherent_rewrite(decision: Decision) -> bool:
    return decision.action == "rewrite" and any(
        _COHERENT in r.detail and not r.shadow for r in decision.reasons
    )


def _changed_fields(before: Recommendation, after: Recommendation | None) -> list[str]:
    if after is None:
        return []
    return [
        name
        for name in ("title", "body", "items", "deliver_after")
        if getattr(before, name) != getattr(after, name)
    ]


def choose_examples(
    decisions: Sequence[Decision], originals: dict[str, Recommendation]
) -> Examples:
    """Deterministic picks: the earliest of the best-scoring decisions of each kind.

    A rewrite that changes the most fields (copy changes count double); a suppression with an
    intrusive reason first, then mistaken, consent, repetitive, more reasons first; a delivery
    triggered by a purchase it names ("Because you bought ..."), else any explanation; and the
    first coherent rewrite (an item dropped together with the copy naming it).
    """
    best_rewrite: tuple[tuple[int, int], Decision] | None = None
    best_suppress: tuple[tuple[int, int], Decision] | None = None
    delivery: Decision | None = None
    fallback_delivery: Decision | None = None
    coherent: Decision | None = None
    for decision in decisions:
        original = originals.get(decision.rec_id)
        if coherent is None and original is not None and _is_coherent_rewrite(decision):
            coherent = decision
        if decision.action == "rewrite" and original is not None:
            changed = _changed_fields(original, decision.recommendation)
            copy = sum(1 for name in changed if name in ("title", "body"))
            score = (len(changed) + copy, len(decision.reasons))
            if best_rewrite is None or score > best_rewrite[0]:
                best_rewrite = (score, decision)
        elif decision.action == "suppress" and original is not None:
            interest = max(
                (
                    _FAMILY_INTEREST.get(family(r.code), 0)
                    for r in decision.reasons
                    if r.code not in _DEFERRALS
                ),
                default=0,
            )
            score = (interest, len(decision.reasons))
            if best_suppress is None or score > best_suppress[0]:
                best_suppress = (score, decision)
        elif decision.action == "deliver" and decision.explanation:
            rec = decision.recommendation
            if (
                delivery is None
                and decision.explanation.startswith("Because you bought")
                and rec is not None
                and rec.trigger == "purchase"
            ):
                delivery = decision
            if fallback_delivery is None:
                fallback_delivery = decision
    return Examples(
        rewrite=best_rewrite[1] if best_rewrite else None,
        suppression=best_suppress[1] if best_suppress else None,
        delivery=delivery or fallback_delivery,
        coherent=coherent,
    )


def _wrap(label: str, text: str, indent: int, column: int = 14) -> list[str]:
    prefix = " " * indent + f"{label:<{column}}" + (" " if len(label) >= column else "")
    return textwrap.wrap(
        text, width=WIDTH, initial_indent=prefix, subsequent_indent=" " * len(prefix)
    ) or [prefix.rstrip()]


def _quoted(text: str | None) -> str:
    return "(none)" if text is None else f'"{text}"'


def _items(rec: Recommendation) -> str:
    return ", ".join(f"{i.sku} ({i.category})" for i in rec.items) or "(none)"


def _copy_lines(
    rec: Recommendation, indent: int, same_as: Recommendation | None = None
) -> list[str]:
    fields = {
        "title": _quoted(rec.title),
        "body": _quoted(rec.body),
        "items": _items(rec),
        "deliver_after": when(rec.deliver_after),
    }
    lines: list[str] = []
    for name, text in fields.items():
        if same_as is not None and getattr(same_as, name) == getattr(rec, name):
            text = "(unchanged)"
        lines += _wrap(name, text, indent)
    return lines


def _header(number: int, what: str, rec: Recommendation) -> list[str]:
    sources = ", ".join(rec.data_sources) or "none"
    return [
        "",
        f"{number}. {what}",
        f"   rec {rec.rec_id} for {MASKED_CUSTOMER}: {rec.channel}, trigger {rec.trigger}, "
        f"sources {sources}, proposed {when(rec.ts)}",
    ]


def _reasons(decision: Decision) -> list[str]:
    lines = ["   reasons"]
    for reason in decision.reasons:
        tag = " (shadow)" if reason.shadow else ""
        lines += _wrap(
            f"{reason.code}{tag}", f"[{family(reason.code)}] {reason.detail}", indent=5, column=25
        )
    return lines


def examples_text(examples: Examples, originals: dict[str, Recommendation]) -> str:
    """The before/after examples, each with its reasons."""
    lines = [heading("Before / after")]
    if examples.rewrite is not None:
        original = originals[examples.rewrite.rec_id]
        lines += _header(1, "Rewritten: delivered after the guardrail fixed it", original)
        lines += _reasons(examples.rewrite)
        lines += ["   before", *_copy_lines(original, 5)]
        if examples.rewrite.recommendation is not None:
            lines += ["   after", *_copy_lines(examples.rewrite.recommendation, 5, original)]
    else:
        lines += ["", "1. Rewritten: none in this dataset"]
    if examples.suppression is not None:
        original = originals[examples.suppression.rec_id]
        lines += _header(2, "Suppressed: never sent", original)
        lines += _reasons(examples.suppression)
        lines += ["   proposed copy", *_copy_lines(original, 5)]
    else:
        lines += ["", "2. Suppressed: none in this dataset"]
    delivery = examples.delivery
    if delivery is not None and delivery.recommendation is not None:
        lines += _header(3, "Delivered as proposed, with its explanation", delivery.recommendation)
        lines += _copy_lines(delivery.recommendation, 5)
        lines += _wrap("explanation", _quoted(delivery.explanation), 5)
    else:
        lines += ["", "3. Delivered with an explanation: none in this dataset"]
    coherent = examples.coherent
    if coherent is not None and coherent.recommendation is not None:
        original = originals[coherent.rec_id]
        what = "Coherent rewrite: a bought item dropped, and the copy naming it with it"
        lines += _header(4, what, original)
        lines += _reasons(coherent)
        lines += ["   before", *_copy_lines(original, 5)]
        lines += ["   after", *_copy_lines(coherent.recommendation, 5, original)]
    else:
        lines += ["", "4. Coherent rewrite: none in this dataset"]
    return "\n".join(lines)


@dataclass(frozen=True)
class Comparison:
    same: bool
    differing: int
    first: str | None


def compare(kafka: Sequence[Decision], pure: Sequence[Decision]) -> Comparison:
    """Are the Kafka decisions, byte for byte as JSON, those of the pure replay?"""
    if len(kafka) != len(pure):
        return Comparison(
            False,
            abs(len(kafka) - len(pure)),
            f"{len(kafka)} decisions through Kafka, {len(pure)} in the pure replay",
        )
    differing = [
        (k, p)
        for k, p in zip(kafka, pure, strict=True)
        if decision_to_json(k) != decision_to_json(p)
    ]
    if not differing:
        return Comparison(True, 0, None)
    k, p = differing[0]
    first = (
        f"first: rec {k.rec_id}: kafka {k.action} {[r.code for r in k.reasons]}, "
        f"pure {p.action} {[r.code for r in p.reasons]}"
    )
    return Comparison(False, len(differing), first)


def comparison_line(result: Comparison, count: int) -> str:
    if result.same:
        return f"Kafka decisions = pure replay decisions: yes ({count:,} of {count:,} identical)"
    return (
        f"Kafka decisions = pure replay decisions: no ({result.differing:,} differ; {result.first})"
    )


class ProgressLine:
    """``produced 3,000/5,000`` on stderr: redrawn in place on a terminal, else every 2 s."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last_wall = 0.0
        self.last: tuple[str, int] | None = None
        self.open = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if (stage, done) == self.last:
            return
        self.last = (stage, done)
        share = f"{100 * done / total:3.0f}%" if total else "100%"
        text = f"      {stage:<9} {done:>7,}/{total:,} {share}"
        now = time.monotonic()
        if self.tty:
            self.stream.write(f"\r{text}\x1b[K")
            self.open = True
        elif done == total or now - self.last_wall >= 2.0:
            self.stream.write(text + "\n")
        else:
            return
        self.last_wall = now
        self.stream.flush()

    def finish(self) -> None:
        if self.open:
            self.stream.write("\n")
            self.stream.flush()
            self.open = False


def timings_text(stages: Iterable[tuple[str, float, str]]) -> str:
    lines = [heading("Timings")]
    total = 0.0
    for name, seconds, note in stages:
        total += seconds
        lines.append(f"  {name:<24} {seconds:7.1f} s  {note}".rstrip())
    lines.append(f"  {'total':<24} {total:7.1f} s")
    return "\n".join(lines)
