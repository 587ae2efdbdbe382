"""What a rule sees and what it returns.

A rule is a pure function ``(ctx, draft) -> Finding | None``. It reads the customer's state
and the recommendation, never changes them, and says what it would do. The engine decides
whether to apply it (mode ``enforce``) or only record it (``shadow``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from guardrail.core.categories import CategoryIndex
from guardrail.core.policy import DAY_MS, HOUR_MS, Policy
from guardrail.core.records import Consent, Recommendation
from guardrail.core.sentences import greeting_pattern
from guardrail.core.state import CustomerState
from guardrail.core.text import PlaceholderMatcher, SurveillanceMatcher


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule that fired: why, and what it does when enforced (its code is the rule's own)."""

    detail: str
    suppress: bool = False
    drop: frozenset[int] = frozenset()  # indices of recommendation items to drop
    text: tuple[str | None, str | None] | None = None  # new (title, body); body None: nothing left
    deliver_after: int | None = None  # defer delivery to this event time


@dataclass(slots=True)
class Draft:
    """The recommendation as the enforced rules so far have left it."""

    title: str | None
    body: str
    deliver_after: int | None
    text_changed: bool = False
    # A frozenset that ``|=`` replaces: no new set per recommendation when nothing is dropped.
    dropped: frozenset[int] = frozenset()


class Compiled:
    """Everything built once per policy: matchers, indices, windows."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.categories = CategoryIndex(policy)
        self.placeholders = PlaceholderMatcher(policy.rules.unresolved_placeholder)
        greetings = policy.rules.unresolved_placeholder.greeting_words
        self.surveillance = SurveillanceMatcher(policy.rules.too_granular, greetings)
        self.greeting = greeting_pattern(greetings)
        self.default_consent = policy.consent_defaults.as_consent()
        granular = policy.rules.too_granular
        self.place_memory_ms = int(granular.place_memory_hours * HOUR_MS)
        self.query_memory_ms = int(granular.query_memory_days * DAY_MS)
        rules = policy.rules
        self.duplicate_window_ms = int(rules.duplicate_recommendation.window_days * DAY_MS)
        self.cap_window_ms = int(rules.frequency_cap.window_hours * HOUR_MS)
        self.reserved_slots = rules.frequency_cap.reserved_slots
        quiet = policy.rules.quiet_hours
        self.quiet_channels = frozenset(quiet.channels)
        self.quiet_start = quiet.start_minute
        self.quiet_end = quiet.end_minute


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 3x, per recommendation
class RuleContext:
    state: CustomerState
    rec: Recommendation
    policy: Policy
    compiled: Compiled
    consent: Consent


Rule = Callable[[RuleContext, Draft], Finding | None]


def within(ts: int, now: int, window_ms: int) -> bool:
    """True when ``ts`` is less than ``window_ms`` before ``now`` (later events count too)."""
    return now - ts < window_ms


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def days(ms: int) -> str:
    value = ms / 86_400_000
    return plural(int(value), "day") if value == int(value) else f"{value:g} days"
