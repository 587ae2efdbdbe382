"""Mistaken: unfilled merge tags, signals from gifts, life events nobody declared, offers
that would arrive after they ended."""

from __future__ import annotations

from datetime import UTC, datetime

from guardrail.core.rules.base import Draft, Finding, RuleContext


def unresolved_placeholder(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Repair an unfilled greeting; suppress an unfilled merge tag anywhere else."""
    matcher = ctx.compiled.placeholders
    title = draft.title
    if matcher.is_clean(draft.body) and (title is None or matcher.is_clean(title)):
        return None
    first_name = ctx.state.profile.first_name
    fixed: list[str] = []
    unresolved: list[str] = []
    if title is not None:
        checked = matcher.check(title, first_name)
        if checked.greeting_fixed:
            fixed.append("title")
        unresolved.extend(checked.unresolved)
        title = checked.text
    checked = matcher.check(draft.body, first_name)
    if checked.greeting_fixed:
        fixed.append("body")
    unresolved.extend(checked.unresolved)
    body = checked.text
    if unresolved:
        tags = ", ".join(dict.fromkeys(unresolved))
        return Finding(f"unfilled merge tag {tags}", suppress=True)
    if not fixed:
        return None
    how = "the first name" if first_name and first_name.strip() else "a neutral greeting"
    detail = f"greeting in {' and '.join(fixed)} filled with {how}"
    return Finding(detail, text=(title, body))


def gift_purchase_signal(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Suppress a recommendation built on a purchase that was a gift."""
    based_on = ctx.rec.based_on
    if not based_on:
        return None
    for p in ctx.state.purchases:
        if p.gift and p.event_id in based_on:
            return Finding(f"based on gift purchase {p.event_id}", True)
    return None


def undeclared_life_event(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Suppress congratulations on a life event the customer never declared."""
    event = ctx.rec.life_event
    if event is None or not event.strip():
        return None
    wanted = event.strip().casefold()
    if any(
        declared.strip().casefold() == wanted for declared in ctx.state.profile.declared_life_events
    ):
        return None
    return Finding(f"life event {event!r} not declared", suppress=True)


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expired(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Suppress when the final send time, after every deferral, is later than ``expires_at``.

    The final send time is ``deliver_after`` as the deferrals left it, else ``ts``; a
    ``deliver_after`` before ``ts`` means "now", so it is never earlier than ``ts``.
    """
    expires_at = ctx.rec.expires_at
    if expires_at is None:
        return None
    send_at = ctx.rec.ts
    deferred = draft.deliver_after
    if deferred is not None and deferred > send_at:
        send_at = deferred
    if send_at <= expires_at:
        return None
    return Finding(f"final send time {_utc(send_at)} is after expires_at {_utc(expires_at)}", True)
