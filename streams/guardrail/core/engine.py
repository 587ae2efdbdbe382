"""``decide(state, event, policy) -> (state, decision | None)``: the whole guardrail, pure.

Time comes only from event timestamps, so replaying the same events gives the same decisions
byte for byte. Signals update the state and decide nothing; a recommendation runs every rule
in the contract's order and gets exactly one decision. ``suppress`` beats ``rewrite`` beats
``deliver``, and every rule that fired is listed, also when a stronger action won.
"""

from __future__ import annotations

import hashlib
from types import ModuleType
from typing import Any, TypeVar

from pydantic import BaseModel

from guardrail.core.coherence import cohere, names_pattern
from guardrail.core.explain import explain
from guardrail.core.policy import Holdout, Policy
from guardrail.core.reasons import REASONS, TRANSACTIONAL_EXEMPT, ReasonSpec
from guardrail.core.records import (
    Action,
    Browsing,
    Decision,
    Event,
    Guardrail,
    Location,
    Profile,
    Purchase,
    Reason,
    RecItem,
    Recommendation,
)
from guardrail.core.rules import consent, intrusive, mistaken, repetitive
from guardrail.core.rules.base import Compiled, Draft, Finding, Rule, RuleContext
from guardrail.core.state import CustomerState, DecisionMemo, DeliveryMark, ReasonMemo
from guardrail.core.updates import (
    Windows,
    apply_browsing,
    apply_location,
    apply_profile,
    apply_purchase,
    insert_sorted,
    prune,
)

_RANGES = tuple(tuple(range(n)) for n in range(16))

_FAMILY_MODULES: dict[str, ModuleType] = {
    "repetitive": repetitive,
    "mistaken": mistaken,
    "intrusive": intrusive,
    "consent": consent,
}


def _rule(spec: ReasonSpec) -> Rule:
    """The rule of a reason code: the function named like it in its family's module."""
    found: Rule = getattr(_FAMILY_MODULES[spec.family], spec.code)
    return found


# The reason table's order: it is also the order reasons are listed in, and text rewrites and
# deferrals chain in it (merge tags before surveillance copy, too_soon before quiet hours,
# every deferral before expiry).
RULES: tuple[tuple[str, Rule], ...] = tuple((spec.code, _rule(spec)) for spec in REASONS)

Active = tuple[tuple[str, Rule, bool], ...]


def in_holdout(customer_id: str, holdout: Holdout) -> bool:
    """The contract's stable holdout membership: the first 8 hex digits of
    sha256(salt + customer_id) as a number, mod 10000, below percent * 100."""
    if holdout.percent <= 0:
        return False
    digest = hashlib.sha256((holdout.salt + customer_id).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % 10000 < holdout.percent * 100


def _active(policy: Policy, transactional: bool, holdout: bool) -> Active:
    """The rules that run, each with whether it only records (shadow)."""
    held = policy.holdout.rules if holdout else ()
    active: list[tuple[str, Rule, bool]] = []
    for code, rule in RULES:
        mode = policy.rules.mode(code)
        if mode == "off" or (transactional and code in TRANSACTIONAL_EXEMPT):
            continue
        active.append((code, rule, mode == "shadow" or code in held))
    return tuple(active)


class Engine:
    """The decision core for one policy; everything derived from the policy is built once."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.version = policy.version
        self.compiled = Compiled(policy)
        self.windows = Windows(policy)
        # By 2 * transactional + holdout: transactional messages skip the rules they are
        # exempt from; for the holdout group the held-out rules only record.
        self._variants: tuple[Active, Active, Active, Active] = (
            _active(policy, False, False),
            _active(policy, False, True),
            _active(policy, True, False),
            _active(policy, True, True),
        )
        self._holdout = policy.holdout
        self._holdout_on = policy.holdout.percent > 0
        self._greeting = self.compiled.greeting

    def in_holdout(self, customer_id: str) -> bool:
        return in_holdout(customer_id, self._holdout)

    def decide(self, state: CustomerState, event: Event) -> tuple[CustomerState, Decision | None]:
        kind = type(event)
        if kind is Browsing:  # the commonest event first
            categories = self.compiled.categories
            return apply_browsing(state, event, categories, self.windows), None  # type: ignore[arg-type]
        if kind is Recommendation:
            return self._recommend(state, event)  # type: ignore[arg-type]
        if kind is Location:
            return apply_location(state, event, self.windows), None  # type: ignore[arg-type]
        if kind is Profile:
            return apply_profile(state, event, self.windows), None  # type: ignore[arg-type]
        if kind is Purchase:
            categories = self.compiled.categories
            return apply_purchase(state, event, categories, self.windows), None  # type: ignore[arg-type]
        raise TypeError(f"not an event: {kind.__name__}")

    def _recommend(
        self, state: CustomerState, rec: Recommendation
    ) -> tuple[CustomerState, Decision | None]:
        rec_id = rec.rec_id
        for memo in state.recent:
            if memo.rec_id == rec_id:
                # Redelivered: the same decision again, and nothing counted twice.
                holdout = self._holdout_on and in_holdout(rec.customer_id, self._holdout)
                return state, self._from_memo(rec, memo, holdout)
        now = rec.ts
        clock = state.clock if state.clock > now else now
        # A transactional message never counts, and leaves the state as it found it but for
        # its memo: pruned to its own later time, a state would forget marks that a
        # recommendation arriving after it with an earlier time still needs. (What expired goes
        # with the customer's next signal or marketing recommendation: a state is pruned only
        # when an event comes, as for a customer who gets none at all.)
        stored = state
        state = prune(state, clock, self.windows)
        consent = state.profile.consent or self.compiled.default_consent
        ctx = RuleContext(state, rec, self.policy, self.compiled, consent)
        draft = Draft(rec.title, rec.body, rec.deliver_after)
        reasons: list[ReasonMemo] = []
        suppress = False
        rewrite = False
        transactional = rec.message_class == "transactional"
        holdout = self._holdout_on and in_holdout(rec.customer_id, self._holdout)
        items = rec.items
        for code, rule, shadow in self._variants[2 * transactional + holdout]:
            finding = rule(ctx, draft)
            if finding is None:
                continue
            detail = finding.detail
            if shadow:
                reasons.append(ReasonMemo(code, detail, True))
                continue
            if finding.suppress:
                suppress = True
            else:
                rewrite = True
                _apply(finding, draft)
                if finding.drop and len(draft.dropped) < len(items):
                    lost = self._cohere(draft, items, finding.drop)
                    if lost is not None:
                        detail += lost[0]
                        suppress = suppress or lost[1]
            reasons.append(ReasonMemo(code, detail, False))
        dropped = draft.dropped
        if items and len(dropped) >= len(items):
            suppress = True
        action: Action = "suppress" if suppress else "rewrite" if rewrite else "deliver"
        if dropped:
            kept = tuple(i for i in range(len(items)) if i not in dropped)
        else:
            kept = _RANGES[len(items)] if len(items) < len(_RANGES) else tuple(range(len(items)))
        explanation = (
            None if suppress or not rec.based_on else explain(rec, state, self.compiled.categories)
        )
        memo = DecisionMemo(
            rec_id,
            now,
            action,
            tuple(reasons),
            kept,
            # The copy only when a rule changed it: a redelivery takes the rest from itself.
            draft.title if draft.text_changed else None,
            draft.body if draft.text_changed else None,
            draft.deliver_after,
            explanation,
            draft.text_changed,
        )
        # record_decision, less its pruning of what the prune above left as it was.
        windows = self.windows
        deliveries = state.deliveries
        if not suppress and not transactional:  # transactional messages never count
            delivery = DeliveryMark(now, rec.channel, tuple(items[i].sku for i in kept))
            deliveries = insert_sorted(deliveries, (delivery,), now)
            if deliveries[0].ts <= clock - windows.deliveries_ms:
                horizon = clock - windows.deliveries_ms
                deliveries = tuple(d for d in deliveries if d.ts > horizon)
        if transactional:
            clock = stored.clock
            state = stored
            deliveries = stored.deliveries
        recent = (*state.recent, memo)
        if len(recent) > windows.max_memos:
            recent = recent[len(recent) - windows.max_memos :] if windows.max_memos else ()
        state = CustomerState(
            clock,
            state.erased,
            state.profile,
            state.purchases,
            state.bought,
            state.browsing,
            state.places,
            deliveries,
            recent,
            state.flagged,
        )
        return state, self._from_memo(rec, memo, holdout)

    def _cohere(
        self, draft: Draft, items: tuple[RecItem, ...], drop: frozenset[int]
    ) -> tuple[str, bool] | None:
        """Copy naming an item just dropped goes too: (detail note, suppress), or None."""
        dropped = draft.dropped
        kept = [i for i in range(len(items)) if i not in dropped]
        pattern = names_pattern(items, drop, kept)
        if pattern is None:
            return None
        lost = cohere(draft.title, draft.body, pattern, self._greeting)
        if lost is None:
            return None
        if not lost.suppress and lost.body is not None:
            draft.body = lost.body
            draft.text_changed = True
        return lost.note(), lost.suppress

    def _from_memo(self, rec: Recommendation, memo: DecisionMemo, holdout: bool) -> Decision:
        # The output records are built from validated parts only, so they skip validation:
        # _build does what model_construct does when every field is given, without its
        # per-field loop (this runs once per recommendation, on the hot path).
        reasons = tuple(
            _build(Reason, {"code": r.code, "detail": r.detail, "shadow": r.shadow})
            for r in memo.reasons
        )
        final: Recommendation | None = None
        action = memo.action
        if action != "suppress":
            guardrail = _build(
                Guardrail,
                {
                    "action": action,
                    "reasons": tuple(r.code for r in memo.reasons if not r.shadow),
                    "policy_version": self.version,
                    "explanation": memo.explanation,
                },
            )
            update: dict[str, object] = {"guardrail": guardrail}
            if action == "rewrite":
                items = rec.items
                if len(memo.kept) != len(items):
                    # (A different record under a remembered rec_id, a producer's mistake, may
                    # have fewer items: it gets the remembered decision on the items it has.)
                    update["items"] = tuple(items[i] for i in memo.kept if i < len(items))
                if memo.text_changed:
                    update["title"] = memo.title
                    update["body"] = memo.body
                update["deliver_after"] = memo.deliver_after
            final = _copy(rec, update)
        return _build(
            Decision,
            {
                "rec_id": rec.rec_id,
                "customer_id": rec.customer_id,
                "ts": rec.ts,
                "action": action,
                "reasons": reasons,
                "policy_version": self.version,
                "explanation": memo.explanation,
                "recommendation": final,
                "holdout": holdout,
            },
        )


_M = TypeVar("_M", bound=BaseModel)
_setattr = object.__setattr__


def _build(cls: type[_M], values: dict[str, Any]) -> _M:
    """``cls.model_construct(**values)`` for ``values`` naming every field in field order."""
    model = cls.__new__(cls)
    _setattr(model, "__dict__", values)
    _setattr(model, "__pydantic_fields_set__", set(values))
    _setattr(model, "__pydantic_extra__", None)
    _setattr(model, "__pydantic_private__", None)
    return model


def _copy(model: _M, update: dict[str, object]) -> _M:
    """``model.model_copy(update=update)`` for a record without extra or private fields."""
    cls = type(model)
    copied = cls.__new__(cls)
    values = model.__dict__.copy()
    values.update(update)
    _setattr(copied, "__dict__", values)
    _setattr(copied, "__pydantic_extra__", None)
    _setattr(copied, "__pydantic_fields_set__", model.__pydantic_fields_set__ | update.keys())
    _setattr(copied, "__pydantic_private__", None)
    return copied


def _apply(finding: Finding, draft: Draft) -> None:
    if finding.drop:
        draft.dropped |= finding.drop
    if finding.text is not None:
        title, body = finding.text
        draft.title = title
        if body is not None:
            draft.body = body
        draft.text_changed = True
    if finding.deliver_after is not None:
        draft.deliver_after = finding.deliver_after


_ENGINES: dict[int, Engine] = {}


def engine_for(policy: Policy) -> Engine:
    """The engine of ``policy``, built once per policy object."""
    engine = _ENGINES.get(id(policy))
    if engine is None or engine.policy is not policy:
        engine = _ENGINES[id(policy)] = Engine(policy)
    return engine


def decide(
    state: CustomerState, event: Event, policy: Policy
) -> tuple[CustomerState, Decision | None]:
    """Apply one event to one customer's state; a recommendation also gets its decision."""
    return engine_for(policy).decide(state, event)
