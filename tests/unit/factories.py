"""Builders for the contract's records and a fold of events through the engine.

Times are epoch ms built from readable offsets: ``T0 + days(2) + hours(3)``. ``T0`` is
2026-01-01 00:00 UTC. Every builder has defaults that trigger no rule, so a test names only
what it is about.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from guardrail.core.engine import Engine
from guardrail.core.policy import Policy, default_policy, policy_from_mapping
from guardrail.core.records import (
    Browsing,
    Consent,
    Decision,
    Event,
    Location,
    Profile,
    Purchase,
    PurchaseItem,
    RecItem,
    Recommendation,
)
from guardrail.core.state import EMPTY_STATE, CustomerState

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a Thursday; noon is T0 + hours(12)
NOON = T0 + 12 * 3_600_000
CUSTOMER = "c-1"

_ids = itertools.count(1)


def days(n: float) -> int:
    return int(n * 86_400_000)


def hours(n: float) -> int:
    return int(n * 3_600_000)


def minutes(n: float) -> int:
    return int(n * 60_000)


def at(iso: str) -> int:
    """Epoch ms of an ISO time with its offset: ``at("2026-03-08T05:00:00+00:00")``."""
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _next_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def consent(
    personalization: bool = True,
    location_marketing: bool = False,
    third_party_data: bool = False,
    sensitive_categories: Sequence[str] = (),
) -> Consent:
    return Consent(
        personalization=personalization,
        location_marketing=location_marketing,
        third_party_data=third_party_data,
        sensitive_categories=tuple(sensitive_categories),
    )


def purchase(
    customer: str = CUSTOMER,
    ts: int = T0,
    items: Sequence[tuple[str, str]] = (("SKU-P", "books/fiction"),),
    gift: bool = False,
    event_id: str | None = None,
) -> Purchase:
    event_id = event_id or _next_id("p")
    return Purchase(
        event_id=event_id,
        customer_id=customer,
        ts=ts,
        order_id=f"o-{event_id}",
        items=tuple(PurchaseItem(sku=sku, category=cat) for sku, cat in items),
        gift=gift,
    )


def browsing(
    customer: str = CUSTOMER,
    ts: int = T0,
    action: str = "view",
    sku: str | None = None,
    category: str | None = None,
    query: str | None = None,
    event_id: str | None = None,
) -> Browsing:
    return Browsing.model_validate(
        {
            "event_id": event_id or _next_id("b"),
            "customer_id": customer,
            "ts": ts,
            "action": action,
            "sku": sku,
            "category": category,
            "query": query,
        }
    )


def location(
    customer: str = CUSTOMER,
    ts: int = T0,
    place_name: str | None = None,
    lat: float = 52.52,
    lon: float = 13.40,
    event_id: str | None = None,
) -> Location:
    return Location(
        event_id=event_id or _next_id("l"),
        customer_id=customer,
        ts=ts,
        lat=lat,
        lon=lon,
        place_name=place_name,
        place_id=None if place_name is None else f"place-{place_name}",
    )


def profile(
    customer: str = CUSTOMER,
    ts: int = T0,
    first_name: str | None = None,
    timezone: str | None = None,
    consent: Consent | None = None,
    channel_opt_outs: Sequence[str] | None = None,
    declared_life_events: Sequence[str] | None = None,
    erase: bool = False,
    event_id: str | None = None,
) -> Profile:
    return Profile.model_validate(
        {
            "event_id": event_id or _next_id("pr"),
            "customer_id": customer,
            "ts": ts,
            "first_name": first_name,
            "timezone": timezone,
            "consent": consent,
            "channel_opt_outs": None if channel_opt_outs is None else tuple(channel_opt_outs),
            "declared_life_events": (
                None if declared_life_events is None else tuple(declared_life_events)
            ),
            "erase": erase,
        }
    )


def rec(
    customer: str = CUSTOMER,
    ts: int = NOON,
    items: Sequence[tuple[str, str]] = (("SKU-R", "books/fiction"),),
    channel: str = "email",
    trigger: str = "batch",
    title: str | None = None,
    body: str = "Picked for you.",
    data_sources: Sequence[str] = ("purchase_history",),
    based_on: Sequence[str] = (),
    life_event: str | None = None,
    deliver_after: int | None = None,
    rec_id: str | None = None,
    campaign_id: str | None = "cmp-1",
    message_class: str = "marketing",
    priority: int = 50,
    expires_at: int | None = None,
) -> Recommendation:
    return Recommendation.model_validate(
        {
            "rec_id": rec_id or _next_id("r"),
            "customer_id": customer,
            "ts": ts,
            "channel": channel,
            "campaign_id": campaign_id,
            "trigger": trigger,
            "items": tuple(RecItem(sku=sku, category=cat) for sku, cat in items),
            "title": title,
            "body": body,
            "data_sources": tuple(data_sources),
            "based_on": tuple(based_on),
            "life_event": life_event,
            "deliver_after": deliver_after,
            "message_class": message_class,
            "priority": priority,
            "expires_at": expires_at,
        }
    )


@lru_cache(maxsize=1)
def _default_engine() -> Engine:
    return Engine(default_policy())


def policy_with(overrides: Mapping[str, Any]) -> Policy:
    """The default policy with ``overrides`` laid over it."""
    return policy_from_mapping(overrides, "<test>")


def modes(**by_code: str) -> Policy:
    """The default policy with some rules' modes changed: ``modes(frequency_cap="shadow")``."""
    return policy_with({"rules": {code: {"mode": mode} for code, mode in by_code.items()}})


@dataclass
class Run:
    """What folding a stream through the engine gave."""

    decisions: list[Decision] = field(default_factory=list)
    states: dict[str, CustomerState] = field(default_factory=dict)

    @property
    def last(self) -> Decision:
        return self.decisions[-1]

    def state(self, customer: str = CUSTOMER) -> CustomerState:
        return self.states.get(customer, EMPTY_STATE)


def run(
    events: Iterable[Any],
    policy: Policy | None = None,
    states: dict[str, CustomerState] | None = None,
) -> Run:
    """Fold ``events`` in order through ``Engine(policy).decide``, one state per customer."""
    engine = _default_engine() if policy is None else Engine(policy)
    result = Run(states={} if states is None else states)
    for event in events:
        assert isinstance(event, Event.__args__)
        state = result.states.get(event.customer_id, EMPTY_STATE)
        state, decision = engine.decide(state, event)
        result.states[event.customer_id] = state
        if decision is not None:
            result.decisions.append(decision)
    return result


def decide_last(events: Iterable[Any], policy: Policy | None = None) -> Decision:
    """The decision on the last recommendation of ``events``."""
    return run(events, policy).last


def codes(decision: Decision, include_shadow: bool = True) -> list[str]:
    return [r.code for r in decision.reasons if include_shadow or not r.shadow]


def kept_skus(decision: Decision) -> list[str]:
    assert decision.recommendation is not None, "suppressed: no recommendation"
    return [item.sku for item in decision.recommendation.items]
