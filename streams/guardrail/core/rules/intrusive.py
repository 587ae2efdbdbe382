"""Intrusive: sensitive categories, location and bought-in data, surveillance copy, bad timing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from guardrail.core.policy import MINUTE_MS
from guardrail.core.rules.base import Draft, Finding, RuleContext, within
from guardrail.core.zones import zone


def sensitive_category(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Suppress when an item or a based-on event falls in a group the customer has not allowed."""
    groups_of = ctx.compiled.categories.sensitive_groups
    allowed = ctx.consent.sensitive_categories
    blocked: set[str] = set()
    for item in ctx.rec.items:
        for group in groups_of(item.category):
            if group not in allowed:
                blocked.add(group)
    based_on = ctx.rec.based_on
    if based_on:
        state = ctx.state
        categories = [p.category for p in state.purchases if p.event_id in based_on]
        categories.extend(
            b.category for b in state.browsing if b.category and b.event_id in based_on
        )
        # Flagged memory: sensitive browsing kept past the browsing window.
        categories.extend(f.category for f in state.flagged if f.event_id in based_on)
        for category in categories:
            for group in groups_of(category):
                if group not in allowed:
                    blocked.add(group)
    if not blocked:
        return None
    groups = ", ".join(sorted(blocked))
    return Finding(f"sensitive group not allowed: {groups}", suppress=True)


def location_trigger(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Suppress location-based marketing without location-marketing consent."""
    rec = ctx.rec
    if rec.trigger != "location" and "location" not in rec.data_sources:
        return None
    if ctx.consent.location_marketing:
        return None
    return Finding("location used without location-marketing consent", True)


def third_party_data(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Suppress recommendations built from bought-in or scraped data without consent."""
    sources = [s for s in ctx.rec.data_sources if s in ("third_party", "social")]
    if not sources or ctx.consent.third_party_data:
        return None
    used = ", ".join(dict.fromkeys(sources))
    return Finding(f"{used} data used without consent", suppress=True)


def too_granular(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Drop sentences that show surveillance; suppress when no sentence is left."""
    compiled = ctx.compiled
    now = ctx.rec.ts
    state = ctx.state
    places: list[str] = []
    if state.places:
        since = now - compiled.place_memory_ms  # within(ts, now, window): ts > now - window
        places = [p[1] for p in state.places if p[0] > since]  # PlaceMark: ts, name
    queries: list[str] = []
    if state.browsing:
        since = now - compiled.query_memory_ms
        queries = [b[4] for b in state.browsing if b[4] and b[0] > since]  # BrowseMark: [4] query
        if len(queries) > 1:
            queries = list(dict.fromkeys(queries))  # searches repeat: each one once
    matcher = ctx.compiled.surveillance
    title = draft.title
    if matcher.is_clean(draft.body, places, queries) and (
        title is None or matcher.is_clean(title, places, queries)
    ):
        return None
    dropped: list[str] = []
    if title is not None:
        scrubbed = matcher.scrub(title, places, queries)
        title = scrubbed.text
        dropped.extend(scrubbed.dropped)
    scrubbed = matcher.scrub(draft.body, places, queries)
    dropped.extend(scrubbed.dropped)
    if not dropped:
        return None
    kinds = ", ".join(sorted(set(dropped)))
    n = len(dropped)
    detail = f"dropped {n} sentence{'s' if n != 1 else ''} naming {kinds}"
    if scrubbed.text is None:
        return Finding(detail + "; no sentence left", suppress=True)
    return Finding(detail, text=(title, scrubbed.text))


def too_soon(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Defer browse and cart triggers until some time after the latest browsing event."""
    cfg = ctx.policy.rules.too_soon
    if ctx.rec.trigger not in cfg.triggers or not ctx.state.browsing:
        return None
    latest = max(b.ts for b in ctx.state.browsing)
    delay_ms = int(cfg.min_delay_minutes * MINUTE_MS)
    if not within(latest, ctx.rec.ts, delay_ms):
        return None
    target = latest + delay_ms
    if draft.deliver_after is not None:
        target = max(target, draft.deliver_after)
    detail = f"latest browsing event less than {cfg.min_delay_minutes:g} min old"
    return Finding(detail, deliver_after=target)


QUARTER_HOUR_S = 900


@lru_cache(maxsize=65_536)
def _utc_offset_s(zone_name: str, quarter: int) -> int:
    """The zone's UTC offset during one quarter hour of UTC.

    Offsets are multiples of 15 minutes and change on a quarter hour of UTC, so the offset
    is constant within one; caching it keeps tz arithmetic off the common path.
    """
    start = quarter * QUARTER_HOUR_S
    moment = datetime.fromtimestamp(start, tz=UTC).astimezone(zone(zone_name))
    offset = moment.utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def quiet_hours(ctx: RuleContext, draft: Draft) -> Finding | None:
    """Defer push and SMS out of the customer's local night."""
    compiled = ctx.compiled
    if ctx.rec.channel not in compiled.quiet_channels:
        return None
    cfg = ctx.policy.rules.quiet_hours
    send_at = draft.deliver_after if draft.deliver_after is not None else ctx.rec.ts
    zone_name = ctx.state.profile.timezone or cfg.default_timezone
    seconds = send_at // 1000
    offset = _utc_offset_s(zone_name, seconds // QUARTER_HOUR_S)
    minute = ((seconds + offset) % 86_400) // 60
    start, end = compiled.quiet_start, compiled.quiet_end
    quiet = (start <= minute or minute < end) if start > end else (start <= minute < end)
    if not quiet:
        return None
    tz = zone(zone_name)
    local = datetime.fromtimestamp(send_at / 1000, tz=UTC).astimezone(tz)
    day: date = local.date()
    if minute >= end:
        day += timedelta(days=1)
    wake = datetime(day.year, day.month, day.day, end // 60, end % 60, tzinfo=tz)
    target = int(wake.timestamp() * 1000)
    detail = (
        f"send time {local:%H:%M} {zone_name} is in quiet hours {cfg.start}-{cfg.end}; "
        f"deferred to {cfg.end} local"
    )
    return Finding(detail, deliver_after=target)
