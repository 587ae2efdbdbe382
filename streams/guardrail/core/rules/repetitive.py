"""Repetitive: what the customer already bought, already got, or got too much of."""

from __future__ import annotations

from guardrail.core.rules.base import Draft, Finding, RuleContext, days, plural, within


def already_purchased(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Drop items bought recently: the SKU, a durable category, or a consumable too early.

    The engine suppresses the recommendation when enforced rules leave no item.
    """
    state = ctx.state
    if not (state.purchases or state.bought) or not ctx.rec.items:
        return None
    index = ctx.compiled.categories
    now = ctx.rec.ts
    bought = {b.root: b.ts for b in state.bought}
    drop: set[int] = set()
    details: list[str] = []
    for i, item in enumerate(ctx.rec.items):
        if any(
            p.sku == item.sku and within(p.ts, now, index.sku_window_ms) for p in state.purchases
        ):
            details.append(f"{item.sku} bought within {days(index.sku_window_ms)}")
            drop.add(i)
            continue
        durable = index.durable_root(item.category)
        if durable in bought and within(bought[durable], now, index.durable_window_ms):
            window = days(index.durable_window_ms)
            details.append(f"{durable} is durable, bought within {window}")
            drop.add(i)
            continue
        consumable = index.consumable(item.category)
        if (
            consumable is not None
            and consumable[0] in bought
            and within(bought[consumable[0]], now, consumable[1])
        ):
            details.append(f"{consumable[0]} replenishes every {days(consumable[1])}")
            drop.add(i)
    if not drop:
        return None
    return Finding("; ".join(details), drop=frozenset(drop))


def duplicate_recommendation(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Drop a SKU already delivered ``max_deliveries`` times within the window."""
    deliveries = ctx.state.deliveries
    if not deliveries or not ctx.rec.items:
        return None
    cfg = ctx.policy.rules.duplicate_recommendation
    window_ms = ctx.compiled.duplicate_window_ms
    since = ctx.rec.ts - window_ms  # within(ts, now, window): ts > now - window
    recent = [d[2] for d in deliveries if d[0] > since]  # DeliveryMark: [0] ts, [2] skus
    if not recent:
        return None
    drop: set[int] = set()
    details: list[str] = []
    for i, item in enumerate(ctx.rec.items):
        count = sum(1 for skus in recent if item.sku in skus)
        if count >= cfg.max_deliveries:
            drop.add(i)
            details.append(f"{item.sku} delivered {plural(count, 'time')} in {days(window_ms)}")
    if not drop:
        return None
    return Finding("; ".join(details), drop=frozenset(drop))


def frequency_cap(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Suppress past the total cap, or past the cap of this recommendation's channel.

    The last ``reserved_slots`` of the total cap are kept for recommendations of priority
    ``reserve_min_priority`` or more: a lower priority is capped that many earlier.
    """
    deliveries = ctx.state.deliveries
    if not deliveries:
        return None
    cfg = ctx.policy.rules.frequency_cap
    since = ctx.rec.ts - ctx.compiled.cap_window_ms  # within(): ts > now - window
    channel = ctx.rec.channel
    total = 0
    same_channel = 0
    for d in deliveries:  # DeliveryMark: [0] ts, [1] channel
        if d[0] > since:
            total += 1
            same_channel += d[1] == channel
    hours = f"{cfg.window_hours:g} h"
    reserved = ctx.compiled.reserved_slots
    priority = ctx.rec.priority
    if reserved and priority < cfg.reserve_min_priority and total >= cfg.max_total - reserved:
        detail = (
            f"{plural(total, 'recommendation')} in the last {hours} (max {cfg.max_total}, the"
            f" last {plural(reserved, 'slot')} reserved for priority >= "
            f"{cfg.reserve_min_priority}; this one has priority {priority})"
        )
        return Finding(detail, suppress=True)
    if total >= cfg.max_total:
        detail = f"{plural(total, 'recommendation')} in the last {hours} (max {cfg.max_total})"
        return Finding(detail, suppress=True)
    channel_cap = cfg.max_per_channel.get(channel)
    if channel_cap is not None and same_channel >= channel_cap:
        detail = f"{same_channel} {channel} in the last {hours} (max {channel_cap})"
        return Finding(detail, suppress=True)
    return None
