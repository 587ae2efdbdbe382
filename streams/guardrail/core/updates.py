"""How each signal event changes a customer's state, and the pruning every update does."""

from __future__ import annotations

from typing import TypeVar

from guardrail.core.categories import CategoryIndex
from guardrail.core.policy import DAY_MS, HOUR_MS, MINUTE_MS, Policy
from guardrail.core.records import Browsing, Location, Profile, Purchase
from guardrail.core.state import (
    BrowseMark,
    CustomerState,
    DecisionMemo,
    DeliveryMark,
    FlagMark,
    PlaceMark,
    PurchaseMark,
    RootMark,
)
from guardrail.core.state import Profile as StoredProfile


class Windows:
    """The policy's retention windows in milliseconds."""

    def __init__(self, policy: Policy) -> None:
        rules = policy.rules
        limits = policy.state
        self.browsing_ms = int(
            max(
                limits.browsing_memory_days * DAY_MS,
                rules.too_granular.query_memory_days * DAY_MS,
                rules.too_soon.min_delay_minutes * MINUTE_MS,
            )
        )
        self.places_ms = int(rules.too_granular.place_memory_hours * HOUR_MS)
        self.deliveries_ms = int(
            max(
                rules.duplicate_recommendation.window_days * DAY_MS,
                rules.frequency_cap.window_hours * HOUR_MS,
            )
        )
        self.max_browsing = limits.max_browsing_events
        self.max_places = limits.max_locations
        self.max_memos = limits.max_remembered_rec_ids
        self.max_purchase_items = limits.max_purchase_items
        self.flagged_ms = int(limits.flagged_purchase_memory_days * DAY_MS)
        self.max_flagged = limits.max_flagged_browsing


def prune(
    state: CustomerState,
    clock: int,
    windows: Windows,
    *,
    profile: StoredProfile | None = None,
    erased: bool | None = None,
    purchases: tuple[PurchaseMark, ...] | None = None,
    bought: tuple[RootMark, ...] | None = None,
    browsing: tuple[BrowseMark, ...] | None = None,
    places: tuple[PlaceMark, ...] | None = None,
    deliveries: tuple[DeliveryMark, ...] | None = None,
    recent: tuple[DecisionMemo, ...] | None = None,
    flagged: tuple[FlagMark, ...] | None = None,
) -> CustomerState:
    """The state with the given parts replaced, minus whatever no rule can use at ``clock``.

    Every update goes through here, so the state is pruned on every event and built once.
    (Hot: marks are read by index, not by field name, which costs a descriptor call each.)
    """
    (
        _,
        old_erased,
        old_profile,
        old_purchases,
        old_bought,
        old_browsing,
        old_places,
        old_deliveries,
        old_recent,
        old_flagged,
    ) = state
    if purchases is None:
        purchases = old_purchases
    # PurchaseMark: [5] keep_until; purchases are sorted by it.
    if purchases and (purchases[0][5] <= clock or len(purchases) > windows.max_purchase_items):
        purchases = tuple(p for p in purchases if p.keep_until > clock)
        if len(purchases) > windows.max_purchase_items:
            newest = sorted(purchases, key=lambda p: p.ts)[-windows.max_purchase_items :]
            purchases = tuple(sorted(newest, key=lambda p: p.keep_until))
    if bought is None:
        bought = old_bought
    for b in bought:  # RootMark: [2] keep_until; a plain loop, no generator per event
        if b[2] <= clock:
            bought = tuple(b for b in bought if b.keep_until > clock)
            break
    if browsing is None:
        browsing = old_browsing
    # Browsing, place and delivery marks: [0] ts; each kind is sorted by it.
    if browsing and (
        len(browsing) > windows.max_browsing or browsing[0][0] <= clock - windows.browsing_ms
    ):
        horizon = clock - windows.browsing_ms
        browsing = tuple(b for b in browsing if b.ts > horizon)[-windows.max_browsing :]
    if places is None:
        places = old_places
    if places and (len(places) > windows.max_places or places[0][0] <= clock - windows.places_ms):
        horizon = clock - windows.places_ms
        kept = tuple(p for p in places if p.ts > horizon)
        places = kept[len(kept) - windows.max_places :] if windows.max_places else ()
    if deliveries is None:
        deliveries = old_deliveries
    if deliveries and deliveries[0][0] <= clock - windows.deliveries_ms:
        horizon = clock - windows.deliveries_ms
        deliveries = tuple(d for d in deliveries if d.ts > horizon)
    if recent is None:
        recent = old_recent
    if len(recent) > windows.max_memos:
        recent = recent[len(recent) - windows.max_memos :] if windows.max_memos else ()
    if flagged is None:
        flagged = old_flagged
    if flagged and (
        len(flagged) > windows.max_flagged or flagged[0][0] <= clock - windows.flagged_ms
    ):
        horizon = clock - windows.flagged_ms
        kept_flags = tuple(f for f in flagged if f.ts > horizon)
        flagged = kept_flags[len(kept_flags) - windows.max_flagged :] if windows.max_flagged else ()
    return CustomerState(
        clock,
        old_erased if erased is None else erased,
        old_profile if profile is None else profile,
        purchases,
        bought,
        browsing,
        places,
        deliveries,
        recent,
        flagged,
    )


_Mark = TypeVar("_Mark", BrowseMark, PlaceMark, DeliveryMark, FlagMark)


def insert_sorted(marks: tuple[_Mark, ...], new: tuple[_Mark, ...], key: int) -> tuple[_Mark, ...]:
    """Append ``new``; marks stay ordered by their first field even for late events."""
    if not marks or marks[-1][0] <= key:
        return marks + new
    return tuple(sorted(marks + new, key=lambda m: m[0]))


# Redelivery (at-least-once): after a crash or a rebalance a worker reads again the events
# after its last committed offset, on a state from the changelog that may already hold them.
# Each signal is applied at most once: an event no later than the state's clock whose mark is
# already there changes nothing. (A mark pruned since is pruned again at once: the same state.)


def apply_purchase(
    state: CustomerState, event: Purchase, index: CategoryIndex, windows: Windows
) -> CustomerState:
    if event.ts <= state.clock:
        event_id = event.event_id
        for p in state.purchases:
            if p.event_id == event_id:
                return state
    marks = tuple(
        PurchaseMark(
            event.ts,
            event.event_id,
            item.sku,
            item.category,
            event.gift,
            event.ts + index.purchase_retention_ms(item.category, event.gift),
        )
        for item in event.items
    )
    # Purchases are ordered by when they expire, so pruning stops at the first live one.
    purchases = tuple(sorted(state.purchases + marks, key=lambda m: m.keep_until))
    latest = {b.root: b for b in state.bought}
    for item in event.items:
        for root, window_ms in index.roots(item.category):
            known = latest.get(root)
            if known is None or known.ts < event.ts:
                latest[root] = RootMark(root, event.ts, event.ts + window_ms)
    bought = tuple(sorted(latest.values()))
    clock = max(state.clock, event.ts)
    return prune(state, clock, windows, purchases=purchases, bought=bought)


def apply_browsing(
    state: CustomerState, event: Browsing, index: CategoryIndex, windows: Windows
) -> CustomerState:
    category = event.category
    sensitive = bool(category and index.sensitive_groups(category))
    if event.ts <= state.clock:
        event_id = event.event_id
        for b in state.browsing:
            if b.event_id == event_id:
                return state
        if sensitive:
            for f in state.flagged:
                if f.event_id == event_id:
                    return state
    mark = BrowseMark(
        event.ts,
        event.event_id,
        event.action,
        event.category,
        event.query if event.action == "search" else None,
    )
    browsing = insert_sorted(state.browsing, (mark,), event.ts)
    clock = max(state.clock, event.ts)
    if sensitive and category:
        # Flagged memory: remembered for based_on look-ups long after browsing is forgotten.
        flag = FlagMark(event.ts, event.event_id, category)
        flagged = insert_sorted(state.flagged, (flag,), event.ts)
        return prune(state, clock, windows, browsing=browsing, flagged=flagged)
    return prune(state, clock, windows, browsing=browsing)


def apply_location(state: CustomerState, event: Location, windows: Windows) -> CustomerState:
    clock = max(state.clock, event.ts)
    if not event.place_name or not event.place_name.strip():
        return prune(state, clock, windows)
    mark = PlaceMark(event.ts, event.place_name.strip())
    if event.ts <= state.clock and mark in state.places:
        return state  # a redelivery (a place mark has no event id; the same place, same time)
    return prune(state, clock, windows, places=insert_sorted(state.places, (mark,), event.ts))


def apply_profile(state: CustomerState, event: Profile, windows: Windows) -> CustomerState:
    clock = max(state.clock, event.ts)
    if event.erase:
        # Erasure forgets everything; only the marker that it was asked for stays.
        return CustomerState(clock=clock, erased=True)
    old = state.profile
    profile = StoredProfile(
        first_name=event.first_name if event.first_name is not None else old.first_name,
        timezone=event.timezone if event.timezone is not None else old.timezone,
        consent=event.consent if event.consent is not None else old.consent,
        channel_opt_outs=(
            event.channel_opt_outs if event.channel_opt_outs is not None else old.channel_opt_outs
        ),
        declared_life_events=(
            event.declared_life_events
            if event.declared_life_events is not None
            else old.declared_life_events
        ),
    )
    # New consent after an erasure request lifts the erasure marker.
    erased = state.erased and event.consent is None
    return prune(state, clock, windows, profile=profile, erased=erased)


def record_decision(
    state: CustomerState, memo: DecisionMemo, delivery: DeliveryMark | None, windows: Windows
) -> CustomerState:
    """Remember a decision; a delivered or rewritten one also counts toward caps."""
    deliveries = state.deliveries
    if delivery is not None:
        deliveries = insert_sorted(deliveries, (delivery,), delivery.ts)
    recent = (*state.recent, memo)
    return prune(state, max(state.clock, memo.ts), windows, deliveries=deliveries, recent=recent)
