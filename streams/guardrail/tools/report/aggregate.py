"""One policy's outcome over a stream, counted: what `guardrail report` draws.

Counts are built as outcomes stream past; only a small sample of examples is kept whole.
The per-customer-day message counts key on (masked customer, day), so they grow with the
customers in the file, not with its length.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from guardrail.core.reasons import BY_CODE, family
from guardrail.core.records import ACTIONS
from guardrail.tools.diff import day_of
from guardrail.tools.outcomes import Outcome

DEFERRALS = tuple(code for code, spec in BY_CODE.items() if spec.effect == "defer")
UNKNOWN_CHANNEL = "unknown"


class Masker:
    """Customer ids as short tokens, stable within one report and unlinkable across reports
    (a random key per report), unless ``show`` is set."""

    def __init__(self, show: bool = False) -> None:
        self.show = show
        self._key = secrets.token_bytes(16)

    def __call__(self, customer_id: str) -> str:
        if self.show:
            return customer_id
        digest = hashlib.blake2b(customer_id.encode(), key=self._key, digest_size=4)
        return f"customer-{digest.hexdigest()}"


@dataclass
class GroupStats:
    """Holdout or treated customers: decisions by action, delivered per customer-day."""

    decisions: int = 0
    by_action: Counter[str] = field(default_factory=Counter)
    shadow_reasons: int = 0
    customer_days: set[tuple[str, str]] = field(default_factory=set)

    @property
    def delivered(self) -> int:
        return self.by_action["deliver"] + self.by_action["rewrite"]

    @property
    def delivered_per_customer_day(self) -> float:
        return self.delivered / len(self.customer_days) if self.customer_days else 0.0


@dataclass
class ReportData:
    decisions: int = 0
    by_action: Counter[str] = field(default_factory=Counter)
    by_day_action: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_reason: Counter[str] = field(default_factory=Counter)
    shadow_by_reason: Counter[str] = field(default_factory=Counter)
    by_day_reason: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_channel_action: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    suppressed_by_family: Counter[str] = field(default_factory=Counter)
    before_per_customer_day: Counter[tuple[str, str]] = field(default_factory=Counter)
    after_per_customer_day: Counter[tuple[str, str]] = field(default_factory=Counter)
    deferrals_by_hour: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    holdout: GroupStats = field(default_factory=GroupStats)
    treated: GroupStats = field(default_factory=GroupStats)
    has_holdout_field: bool = False
    policy_versions: Counter[str] = field(default_factory=Counter)
    samples: list[Outcome] = field(default_factory=list)
    proposals_known: bool = False

    @property
    def days(self) -> list[str]:
        return sorted(self.by_day_action)

    def suppression_rate(self, family: str) -> float:
        return self.suppressed_by_family[family] / self.decisions if self.decisions else 0.0

    def messages_distribution(self) -> list[tuple[int, int, int]]:
        """``(messages, customer-days before, customer-days after)``: how many customer-days
        had that many proposals (before the guardrail) and deliveries (after)."""
        before = Counter(self.before_per_customer_day.values())
        after = Counter(self.after_per_customer_day.get(k, 0) for k in self.before_per_customer_day)
        top = max([*before, *after], default=0)
        return [(n, before[n], after[n]) for n in range(top + 1)]

    @property
    def holdout_present(self) -> bool:
        return self.holdout.decisions > 0


def _add_group(group: GroupStats, outcome: Outcome, key: tuple[str, str]) -> None:
    decision = outcome.decision
    group.decisions += 1
    group.by_action[decision.action] += 1
    group.shadow_reasons += sum(1 for r in decision.reasons if r.shadow)
    group.customer_days.add(key)


class Aggregator:
    """Counts outcomes one by one; ``data`` is the result so far."""

    def __init__(self, masker: Masker, samples: int = 12) -> None:
        self.data = ReportData()
        self.mask = masker
        self.sample_size = samples
        self._sampled: Counter[tuple[str, str]] = Counter()

    def add(self, outcome: Outcome) -> None:
        data, decision = self.data, outcome.decision
        day = day_of(decision.ts)
        data.decisions += 1
        data.proposals_known = data.proposals_known or outcome.proposed is not None
        data.policy_versions[decision.policy_version] += 1
        data.by_action[decision.action] += 1
        data.by_day_action[day][decision.action] += 1
        enforced = [r.code for r in decision.reasons if not r.shadow]
        for reason in decision.reasons:
            (data.shadow_by_reason if reason.shadow else data.by_reason)[reason.code] += 1
        data.by_day_reason[day].update(enforced)
        data.by_channel_action[_channel(outcome)][decision.action] += 1
        if decision.action == "suppress":
            data.suppressed_by_family.update({family(c) for c in enforced})
        else:
            for code in DEFERRALS:
                if code in enforced:
                    data.deferrals_by_hour[code][_hour(decision.ts)] += 1
        key = (self.mask(decision.customer_id), day)
        data.before_per_customer_day[key] += 1
        if decision.action != "suppress":
            data.after_per_customer_day[key] += 1
        holdout = getattr(decision, "holdout", None)
        if holdout is not None:
            data.has_holdout_field = True
        _add_group(data.holdout if holdout else data.treated, outcome, key)
        self._sample(outcome, enforced)

    def _sample(self, outcome: Outcome, enforced: list[str]) -> None:
        """A few examples of each action, preferring reasons not shown yet."""
        action = outcome.decision.action
        if action == "deliver" and not outcome.decision.explanation:
            return
        top = enforced[0] if enforced else ""
        per_action = self.sample_size // len(ACTIONS)
        if (
            self._sampled[(action, top)]
            or sum(n for (a, _), n in self._sampled.items() if a == action) >= per_action
        ):
            return
        self._sampled[(action, top)] += 1
        self.data.samples.append(outcome)


def _channel(outcome: Outcome) -> str:
    rec = outcome.proposed or outcome.decision.recommendation
    return rec.channel if rec is not None else UNKNOWN_CHANNEL


def _hour(ms: int) -> int:
    return datetime.fromtimestamp(ms / 1000, UTC).hour


def aggregate(outcomes: Iterable[Outcome], masker: Masker, samples: int = 12) -> ReportData:
    aggregator = Aggregator(masker, samples)
    for outcome in outcomes:
        aggregator.add(outcome)
    data = aggregator.data
    data.samples.sort(key=lambda o: (ACTIONS.index(o.decision.action), o.decision.ts))
    return data
