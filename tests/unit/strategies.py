"""Hypothesis strategies: event streams over a few customers, SKUs and categories, so that
rules meet and interact (caps, duplicates, purchases, consent, erasure, quiet hours)."""

from __future__ import annotations

from hypothesis import strategies as st

from factories import T0, browsing, consent, hours, location, minutes, profile, purchase, rec
from guardrail.core.records import Event, Signal

CUSTOMERS = ("c-1", "c-2", "c-3")
CATEGORIES = (
    "books/fiction",
    "electronics/laptops",
    "electronics/laptops/gaming",
    "grocery/coffee",
    "health/fertility",
    "baby/pregnancy",
    "furniture",
    "toys",
)
SKUS = tuple(f"SKU-{i}" for i in range(6))
CHANNELS = ("email", "push", "sms", "in_app", "ad")
BODIES = (
    "Picked for you.",
    "Hi , new picks.",
    "Hi {{first_name}}, new picks. We noticed you at 2am.",
    "Deals near Alexanderplatz. Also new boots.",
    "Your code: %PROMO%.",
)

customers = st.sampled_from(CUSTOMERS)
items = st.lists(
    st.tuples(st.sampled_from(SKUS), st.sampled_from(CATEGORIES)), min_size=1, max_size=3
)


@st.composite
def signal(draw: st.DrawFn, ts: int) -> Signal:
    customer = draw(customers)
    kind = draw(st.sampled_from(("purchase", "browsing", "location", "profile", "erase")))
    if kind == "purchase":
        return purchase(customer, ts, draw(items), gift=draw(st.booleans()))
    if kind == "browsing":
        return browsing(
            customer,
            ts,
            action=draw(st.sampled_from(("view", "search"))),
            category=draw(st.sampled_from(CATEGORIES)),
            query="red boots",
        )
    if kind == "location":
        return location(customer, ts, place_name="Alexanderplatz")
    if kind == "erase":
        return profile(customer, ts, erase=True)
    return profile(
        customer,
        ts,
        first_name=draw(st.sampled_from((None, "Ana"))),
        timezone=draw(st.sampled_from((None, "Europe/Berlin", "America/New_York"))),
        consent=draw(
            st.none()
            | st.builds(
                consent,
                personalization=st.booleans(),
                location_marketing=st.booleans(),
                third_party_data=st.booleans(),
                sensitive_categories=st.sampled_from(((), ("health",), ("health", "reproductive"))),
            )
        ),
        channel_opt_outs=draw(st.sampled_from((None, (), ("push",), ("sms", "ad")))),
        declared_life_events=draw(st.sampled_from((None, ("wedding",)))),
    )


@st.composite
def recommendation(draw: st.DrawFn, ts: int, based_on: list[str]) -> Event:
    return rec(
        customer=draw(customers),
        ts=ts,
        items=draw(items),
        channel=draw(st.sampled_from(CHANNELS)),
        trigger=draw(st.sampled_from(("batch", "browse", "cart", "location", "life_event"))),
        body=draw(st.sampled_from(BODIES)),
        data_sources=draw(
            st.sampled_from(((), ("purchase_history",), ("social",), ("location", "browsing")))
        ),
        based_on=draw(st.lists(st.sampled_from(based_on), max_size=2)) if based_on else (),
        life_event=draw(st.sampled_from((None, "wedding"))),
        message_class=draw(st.sampled_from(("marketing", "marketing", "transactional"))),
        priority=draw(st.sampled_from((10, 50, 90))),
        expires_at=draw(st.sampled_from((None, None, ts + hours(1), ts + hours(12)))),
    )


@st.composite
def event_streams(draw: st.DrawFn, max_size: int = 40) -> list[Event]:
    """Events in roughly increasing time (small jitter: late events happen), mostly recs."""
    n = draw(st.integers(min_value=1, max_value=max_size))
    ts = T0
    events: list[Event] = []
    seen_ids: list[str] = []
    for _ in range(n):
        ts += draw(st.sampled_from((0, minutes(10), hours(2), hours(9), hours(30))))
        jitter = draw(st.sampled_from((0, 0, 0, -minutes(20))))
        if draw(st.integers(0, 9)) < 6:
            event = draw(recommendation(ts + jitter, seen_ids))
            if draw(st.integers(0, 9)) == 0 and events:  # a redelivery now and then
                earlier = [e for e in events if hasattr(e, "rec_id")]
                if earlier:
                    event = draw(st.sampled_from(earlier))
        else:
            event = draw(signal(ts + jitter))
            seen_ids.append(event.event_id)
        events.append(event)
    return events
