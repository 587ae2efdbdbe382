"""Consent: opt-outs and erasure requests."""

from __future__ import annotations

from guardrail.core.rules.base import Draft, Finding, RuleContext


def personalization_opt_out(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Suppress personalized recommendations for customers who opted out of personalization."""
    if ctx.consent.personalization or not ctx.rec.data_sources:
        return None
    return Finding("customer opted out of personalization", True)


def channel_opt_out(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Suppress on a channel the customer opted out of."""
    if ctx.rec.channel not in ctx.state.profile.channel_opt_outs:
        return None
    return Finding(f"customer opted out of {ctx.rec.channel}", suppress=True)


def erased(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Suppress personalized recommendations after an erasure request, until new consent."""
    if not ctx.state.erased or not ctx.rec.data_sources:
        return None
    return Finding("customer asked for erasure and gave no consent since", True)
