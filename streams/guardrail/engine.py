"""``decide(state, event, policy) -> (state, decision | None)``: the whole guardrail, pure.

Time comes only from event timestamps, so replaying the same events gives the same decisions
byte for byte. Signals update the state and decide nothing; a recommendation runs every rule
in the contract's order and gets exactly one decision. ``suppress`` beats ``rewrite`` beats
``deliver``, and every rule that fired is listed, also when a stronger action won.
"""

from __future__ import annotations

from streams.guardrail.explain import explain
from streams.guardrail.policy import Policy
from streams.guardrail.records import (
    Action,
    Browsing,
    Decision,
    Event,
    Guardrail,
    Location,
    Profile,
    Purchase,
    Reason,
    Recommendation,
)
from streams.guardrail.rules import consent, intrusive, mistaken, repetitive
from streams.guardrail.rules.base import Compiled, Draft, Finding, Rule, RuleContext
from streams.guardrail.state import CustomerState, DecisionMemo, DeliveryMark, ReasonMemo
from streams.guardrail.updates import (
    Windows,
    apply_browsing,
    apply_location,
    apply_profile,
    apply_purchase,
    prune,
    record_decision,
)

# The contract's order: it is also the order reasons are listed in, and text rewrites and
# deferrals chain in it (merge tags before surveillance copy, too_soon before quiet hours).
RULES: tuple[tuple[str, Rule], ...] = (
    ("already_purchased", repetitive.already_purchased),
    ("duplicate_recommendation", repetitive.duplicate_recommendation),
    ("frequency_cap", repetitive.frequency_cap),
    ("unresolved_placeholder", mistaken.unresolved_placeholder),
    ("gift_purchase_signal", mistaken.gift_purchase_signal),
    ("undeclared_life_event", mistaken.undeclared_life_event),
    ("sensitive_category", intrusive.sensitive_category),
    ("location_trigger", intrusive.location_trigger),
    ("third_party_data", intrusive.third_party_data),
    ("too_granular", intrusive.too_granular),
    ("too_soon", intrusive.too_soon),
    ("quiet_hours", intrusive.quiet_hours),
    ("personalization_opt_out", consent.personalization_opt_out),
    ("channel_opt_out", consent.channel_opt_out),
    ("erased", consent.erased),
)


class Engine:
    """The decision core for one policy; everything derived from the policy is built once."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.version = policy.version
        self.compiled = Compiled(policy)
        self.windows = Windows(policy)
        self._active = tuple(
            (code, rule, policy.rules.mode(code) == "shadow")
            for code, rule in RULES
            if policy.rules.mode(code) != "off"
        )

    def decide(self, state: CustomerState, event: Event) -> tuple[CustomerState, Decision | None]:
        kind = type(event)
        if kind is Browsing:  # the commonest event first
            return apply_browsing(state, event, self.windows), None  # type: ignore[arg-type]
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
        for memo in state.recent:
            if memo.rec_id == rec.rec_id:
                # Redelivered: the same decision again, and nothing counted twice.
                return state, self._from_memo(rec, memo)
        state = prune(state, max(state.clock, rec.ts), self.windows)
        consent = state.profile.consent or self.compiled.default_consent
        ctx = RuleContext(state, rec, self.policy, self.compiled, consent)
        draft = Draft(rec.title, rec.body, rec.deliver_after)
        reasons: list[ReasonMemo] = []
        suppress = False
        rewrite = False
        for code, rule, shadow in self._active:
            finding = rule(ctx, draft)
            if finding is None:
                continue
            reasons.append(ReasonMemo(code, finding.detail, shadow))
            if shadow:
                continue
            if finding.suppress:
                suppress = True
                continue
            rewrite = True
            _apply(finding, draft)
        if rec.items and len(draft.dropped) >= len(rec.items):
            suppress = True
        action: Action = "suppress" if suppress else "rewrite" if rewrite else "deliver"
        kept = tuple(i for i in range(len(rec.items)) if i not in draft.dropped)
        explanation = None if suppress else explain(rec, state, self.compiled.categories)
        memo = DecisionMemo(
            rec.rec_id,
            rec.ts,
            action,
            tuple(reasons),
            kept,
            draft.title,
            draft.body,
            draft.deliver_after,
            explanation,
            draft.text_changed,
        )
        delivery = None
        if not suppress:
            delivery = DeliveryMark(rec.ts, rec.channel, tuple(rec.items[i].sku for i in kept))
        state = record_decision(state, memo, delivery, self.windows)
        return state, self._from_memo(rec, memo)

    def _from_memo(self, rec: Recommendation, memo: DecisionMemo) -> Decision:
        # The output records are built from validated parts only, so they skip validation
        # (model_construct): this runs once per recommendation, on the hot path.
        reasons = tuple(
            Reason.model_construct(code=r.code, detail=r.detail, shadow=r.shadow)
            for r in memo.reasons
        )
        final: Recommendation | None = None
        if memo.action != "suppress":
            update: dict[str, object] = {
                "guardrail": Guardrail.model_construct(
                    action=memo.action,
                    reasons=tuple(r.code for r in reasons if not r.shadow),
                    policy_version=self.version,
                    explanation=memo.explanation,
                ),
            }
            if memo.action == "rewrite":
                if len(memo.kept) != len(rec.items):
                    update["items"] = tuple(rec.items[i] for i in memo.kept)
                if memo.text_changed:
                    update["title"] = memo.title
                    update["body"] = memo.body
                update["deliver_after"] = memo.deliver_after
            final = rec.model_copy(update=update)
        return Decision.model_construct(
            rec_id=rec.rec_id,
            customer_id=rec.customer_id,
            ts=rec.ts,
            action=memo.action,
            reasons=reasons,
            policy_version=self.version,
            explanation=memo.explanation,
            recommendation=final,
        )


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
