"""Creepy recommendations for ``guardrail generate``: one builder per contract reason code.

Each builder picks a customer, sends whatever signals the failure needs (a purchase, a
location ping, a search, a consent change ...) and then the recommendation(s) that should
trip the rule. Several codes can fire on one recommendation, as in real traffic.
"""

from __future__ import annotations

from collections.abc import Callable

from guardrail.generate.catalog import (
    BAD_BODIES,
    BAD_GREETINGS,
    BAD_TITLES,
    CATALOG,
    CLEAN_BODIES,
    CLEAN_TITLES,
    CLOCKS,
    COMPLEMENTS,
    CONSUMABLE,
    CREEPY_SENTENCES,
    CREEPY_TAIL,
    FLASH_COPY,
    GIFTABLE,
    LIFE_COPY,
    LIFE_EVENTS,
    NAMING_SENTENCES,
    NAMING_TITLES,
    PLACES,
    SENSITIVE_COPY,
    THIRD_PARTY_COPY,
)
from guardrail.generate.customers import (
    DURABLE_CATS,
    MINUTE,
    PRODUCTS,
    SENSITIVE_CATS,
    Core,
    Cust,
    fill,
)


def _names(sku: str, cat: str) -> tuple[str, str]:
    name = next((p[1] for p in PRODUCTS.get(cat, ()) if p[0] == sku), "gift card")
    return name, CATALOG[cat][1] if cat in CATALOG else "gift cards"


def _copy(
    g: Core, c: Cust, key: str, item: tuple[str, str], noun: str = "order", greet: str | None = None
) -> tuple[str, str]:
    name, label = _names(*item)
    title = fill(g.rng.choice(CLEAN_TITLES[key]), product=name, label=label)
    body = fill(
        g.rng.choice(CLEAN_BODIES[key]),
        greet=greet or g.greet(c),
        product=name,
        label=label,
        noun=noun,
    )
    return title, body


def already_purchased(g: Core, t: int) -> None:
    rng = g.rng
    c = g.pick(t)
    ts = g.begin(c, t)
    x = rng.random()
    cat = rng.choice(DURABLE_CATS if x < 0.6 else CONSUMABLE if x < 0.8 else c.fav)
    bought = rng.choice(PRODUCTS[cat])
    eid = g.purchase(c, ts, [bought], [cat])
    ts += rng.randint(20, 300) * MINUTE
    item = (bought[0] if x >= 0.8 else rng.choice(PRODUCTS[cat])[0], cat)
    items = [item]
    if rng.random() < 0.4:  # one good item next to the bad one: the rule drops only the bad
        items += g.clean_items(c, ts, COMPLEMENTS.get(cat, ()), 1)
    title, body = _copy(g, c, "purchase", item, CATALOG[cat][0])
    if len(items) > 1 and rng.random() < 0.7:
        # Copy naming the re-offered item by its category word: a coherent rewrite drops that
        # sentence and keeps the one about the other item; a title naming it suppresses.
        word = cat.rsplit("/", 1)[-1].replace("-", " ")
        sentence = fill(rng.choice(NAMING_SENTENCES), word=word)
        other = _names(*items[1])[0]
        body = f"{g.greet(c)} {sentence[0].lower()}{sentence[1:]} The {other} goes well with it."
        if rng.random() < 0.3:
            title = fill(rng.choice(NAMING_TITLES), word=word)
    g.rec(c, ts, g.channel(c, ts), "purchase", items, title, body, ["purchase_history"], [eid])


def duplicate_recommendation(g: Core, t: int) -> None:
    rng = g.rng
    c = g.pick(t)
    ts = g.begin(c, t)
    items = g.clean_items(c, ts)
    campaign = f"cmp-retarget-{rng.randint(1, 40):02d}"
    for _ in range(rng.choice((3, 3, 4))):
        title, body = _copy(g, c, "batch", items[0])
        ch = rng.choice([ch for ch in ("email", "in_app", "ad") if ch not in c.opt_outs])
        g.rec(c, ts, ch, "batch", items, title, body, ["browsing"], [], campaign=campaign)
        ts += rng.randint(150, 330) * MINUTE


def frequency_cap(g: Core, t: int) -> None:
    rng = g.rng
    c = g.pick(t)
    ts = g.begin(c, t)
    pushes = rng.randint(2, 3)
    channels = ["push"] * pushes + [
        rng.choice(("email", "in_app", "sms")) for _ in range(rng.randint(2, 3))
    ]
    rng.shuffle(channels)
    for ch in channels:
        items = g.clean_items(c, ts)
        title, body = _copy(g, c, "batch", items[0])
        g.rec(
            c,
            ts,
            ch,
            "batch",
            items,
            title,
            body,
            ["purchase_history"],
            [],
            campaign=f"cmp-flash-{rng.randint(1, 40):02d}",
        )
        ts += rng.randint(15, 150) * MINUTE


def unresolved_placeholder(g: Core, t: int) -> None:
    rng = g.rng
    c = g.pick(t)
    ts = g.begin(c, t)
    items = g.clean_items(c, ts)
    name, label = _names(*items[0])
    x = rng.random()
    if x < 0.55:  # in the greeting: the guardrail can fix it
        title, body = _copy(g, c, "batch", items[0], greet=rng.choice(BAD_GREETINGS))
    elif x < 0.8:
        title = fill(rng.choice(BAD_TITLES), label=label.capitalize())
        _t, body = _copy(g, c, "batch", items[0])
    else:
        title = fill(rng.choice(CLEAN_TITLES["batch"]), product=name, label=label)
        body = f"{g.greet(c)} " + fill(rng.choice(BAD_BODIES), product=name, label=label)
    g.rec(
        c,
        ts,
        g.channel(c, ts),
        "batch",
        items,
        title,
        body,
        ["purchase_history"],
        [],
        campaign=f"cmp-newsletter-{rng.randint(1, 40):02d}",
    )


def gift_purchase_signal(g: Core, t: int) -> None:
    rng = g.rng
    c = g.pick(t)
    ts = g.begin(c, t)
    cat = rng.choice(GIFTABLE)
    eid = g.purchase(c, ts, [rng.choice(PRODUCTS[cat])], [cat], gift=True)
    ts += rng.randint(60, 600) * MINUTE
    items = g.clean_items(c, ts, (cat, *COMPLEMENTS.get(cat, ())), rng.choice((1, 2)))
    title, body = _copy(g, c, "purchase", items[0], CATALOG[cat][0])
    g.rec(c, ts, g.channel(c, ts), "purchase", items, title, body, ["purchase_history"], [eid])


def undeclared_life_event(g: Core, t: int) -> None:
    rng = g.rng
    c = g.pick(t)
    ts = g.begin(c, t)
    life = rng.choice([e for e in LIFE_EVENTS if e not in c.declared])
    title, body, cats = LIFE_COPY[life]
    items = g.clean_items(c, ts, cats, 2)
    sources = rng.choice((["inferred"], ["purchase_history", "inferred"], ["browsing"]))
    g.rec(
        c,
        ts,
        g.channel(c, ts),
        "life_event",
        items,
        title,
        f"{g.greet(c)} {body}",
        sources,
        [],
        life_event=life,
    )


def sensitive_category(g: Core, t: int) -> None:
    rng = g.rng
    c = g.pick(t)
    ts = g.begin(c, t)
    cat = rng.choice([k for k in SENSITIVE_CATS if not g.allowed(c, k)] or SENSITIVE_CATS)
    product = rng.choice(PRODUCTS[cat])
    if rng.random() < 0.6:  # recommending the sensitive category itself
        based_on = []
        if rng.random() < 0.5:
            based_on = [g.browse(c, ts, "view", product[0], cat)]
            ts += rng.randint(40, 300) * MINUTE
        title, body = (
            fill(s, greet=g.greet(c), product=product[1], label=CATALOG[cat][1])
            for s in rng.choice(SENSITIVE_COPY)
        )
        g.rec(
            c,
            ts,
            g.channel(c, ts),
            "browse" if based_on else "batch",
            [(product[0], cat)],
            title,
            body,
            ["browsing"] if based_on else ["inferred"],
            based_on,
        )
    else:  # an ordinary item, but based on a sensitive purchase
        eid = g.purchase(c, ts, [product], [cat])
        ts += rng.randint(60, 600) * MINUTE
        items = g.clean_items(c, ts)
        title, body = _copy(g, c, "purchase", items[0], CATALOG[cat][0])
        g.rec(c, ts, g.channel(c, ts), "purchase", items, title, body, ["purchase_history"], [eid])


def location_trigger(g: Core, t: int) -> None:
    rng = g.rng
    c = g.pick(t)
    for _ in range(3):
        if not c.loc_ok:
            break
        c = g.pick(t)
    ts = g.begin(c, t)
    place = rng.choice(PLACES) if rng.random() < 0.6 else None
    eid = g.location(c, ts, place)
    ts += rng.randint(2, 30) * MINUTE
    items = g.clean_items(c, ts)
    title, body = _copy(g, c, "location", items[0])
    if place and rng.random() < 0.3:
        body = f"{g.greet(c)} you were near {place} earlier. Drop by again for 10% off."
    sources = rng.choice((["location"], ["location", "purchase_history"]))
    g.rec(
        c,
        ts,
        g.channel(c, ts),
        "location" if rng.random() < 0.8 else "batch",
        items,
        title,
        body,
        sources,
        [eid],
    )


def third_party_data(g: Core, t: int) -> None:
    rng = g.rng
    c = g.pick(t)
    for _ in range(3):
        if not c.tp_ok:
            break
        c = g.pick(t)
    ts = g.begin(c, t)
    items = g.clean_items(c, ts, (), rng.choice((1, 2)))
    name, label = _names(*items[0])
    title, body = (
        fill(s, greet=g.greet(c), product=name, label=label) for s in rng.choice(THIRD_PARTY_COPY)
    )
    sources = rng.choice(
        (["third_party"], ["social"], ["purchase_history", "third_party"], ["browsing", "social"])
    )
    g.rec(
        c,
        ts,
        g.channel(c, ts),
        "batch",
        items,
        title,
        body,
        sources,
        [],
        campaign=f"cmp-lookalike-{rng.randint(1, 40):02d}",
    )


def too_granular(g: Core, t: int) -> None:
    rng = g.rng
    c = g.pick(t)
    ts = g.begin(c, t)
    items = g.clean_items(c, ts)
    name, label = _names(*items[0])
    sentence = rng.choice(CREEPY_SENTENCES)
    place = query = ""
    based_on: list[str] = []
    if "{place}" in sentence:
        place = rng.choice(PLACES)
        based_on.append(g.location(c, ts, place))
        ts += rng.randint(20, 180) * MINUTE
    if "{query}" in sentence:
        cat = items[0][1]
        query = rng.choice(CATALOG[cat][4] if cat in CATALOG else ("gift card ideas",))
        based_on.append(g.browse(c, ts, "search", None, None, query))
        ts += rng.randint(40, 240) * MINUTE
    text = fill(
        sentence, product=name, label=label, clock=rng.choice(CLOCKS), place=place, query=query
    )
    tail = fill(rng.choice(CREEPY_TAIL), label=label.capitalize())
    # The greeting stays when its sentence is dropped; an unfilled one is repaired first.
    greet = BAD_GREETINGS[0] if rng.random() < 0.2 else g.greet(c)
    body = f"{greet} {text[0].lower()}{text[1:]} {tail}".strip()
    title = fill(rng.choice(CLEAN_TITLES["batch"]), product=name, label=label)
    g.rec(c, ts, g.channel(c, ts), "batch", items, title, body, ["browsing"], based_on)


def too_soon(g: Core, t: int) -> None:
    rng = g.rng
    c = g.pick(t)
    ts = g.begin(c, t)
    cat = rng.choice(c.fav)
    product = rng.choice(PRODUCTS[cat])
    eid = g.browse(c, ts, "view", product[0], cat)
    trigger = "browse"
    if rng.random() < 0.5:
        ts += rng.randint(10, 90) * 1000
        eid = g.browse(c, ts, "add_to_cart", product[0], cat)
        trigger = "cart"
    ts += int(rng.choice((rng.randint(3, 60), rng.randint(60, 1700))) * 1000)
    title, body = _copy(g, c, trigger, (product[0], cat))
    g.rec(c, ts, g.channel(c, ts), trigger, [(product[0], cat)], title, body, ["browsing"], [eid])


def quiet_hours(g: Core, t: int) -> None:
    rng = g.rng
    c = g.pick(t, night=True)
    for _ in range(3):
        if not c.started or c.profiled:
            break
        c = g.pick(t, night=True)
    ts = g.begin(c, t)
    ts = g.next_local(c.known_tzi(), ts, 22, 6) + rng.randint(0, 50) * MINUTE
    ch = rng.choice([ch for ch in ("push", "sms") if ch not in c.opt_outs] or ["push"])
    items = g.clean_items(c, ts)
    title, body = _copy(g, c, "batch", items[0])
    g.rec(
        c,
        ts,
        ch,
        "batch",
        items,
        title,
        body,
        ["purchase_history"],
        [],
        campaign=f"cmp-flash-{rng.randint(1, 40):02d}",
    )


def expired(g: Core, t: int) -> None:
    """A flash sale proposed late in the evening that ends before quiet hours do."""
    rng = g.rng
    c = g.pick(t, night=True)
    ts = g.begin(c, t)
    ts = g.next_local(c.known_tzi(), ts, 21, 23) + rng.randint(0, 50) * MINUTE
    ch = rng.choice([ch for ch in ("push", "sms") if ch not in c.opt_outs] or ["push"])
    items = g.clean_items(c, ts)
    name, label = _names(*items[0])
    title, template = rng.choice(FLASH_COPY)
    body = fill(template, greet=g.greet(c), product=name, label=label)
    # Mostly ends at midnight-ish (expired once deferred to 08:00); sometimes ends at noon next
    # day (only deferred).
    ends = ts + (rng.randint(60, 180) if rng.random() < 0.8 else rng.randint(14, 16) * 60) * MINUTE
    g.rec(
        c, ts, ch, "batch", items, title, body, ["purchase_history"], [],
        campaign=f"cmp-flash-{rng.randint(1, 40):02d}", expires_at=ends,
    )  # fmt: skip


def personalization_opt_out(g: Core, t: int) -> None:
    rng = g.rng
    c = rng.choice(g.optout_pers) if g.optout_pers and rng.random() < 0.7 else g.pick(t)
    ts = g.begin(c, t)
    if c.pers:
        c.pers = False
        g.optout_pers.append(c)
        g.profile(c, ts, consent=True)
        ts += rng.randint(10, 360) * MINUTE
    based_on = [p[1] for p in c.purchases[-1:]]
    items = g.clean_items(c, ts)
    title, body = _copy(g, c, "batch", items[0])
    g.rec(
        c,
        ts,
        g.channel(c, ts),
        "batch",
        items,
        title,
        body,
        ["purchase_history"] if based_on else rng.choice((["browsing"], ["inferred"])),
        based_on,
    )


def channel_opt_out(g: Core, t: int) -> None:
    rng = g.rng
    listed = [c for c in g.optout_chan[-50:] if c.opt_outs]
    c = rng.choice(listed) if listed and rng.random() < 0.7 else g.pick(t)
    ts = g.begin(c, t)
    if not c.opt_outs:
        c.opt_outs = (rng.choice(("sms", "push", "email")),)
        g.optout_chan.append(c)
        g.profile(c, ts, consent=True)
        ts += rng.randint(10, 360) * MINUTE
    items = g.clean_items(c, ts)
    title, body = _copy(g, c, "batch", items[0])
    g.rec(c, ts, rng.choice(c.opt_outs), "batch", items, title, body, ["purchase_history"], [])


def erased(g: Core, t: int) -> None:
    rng = g.rng
    c = rng.choice(g.erasers) if g.erasers and rng.random() < 0.7 else g.pick(t)
    ts = g.begin(c, t)
    based_on = [p[1] for p in c.purchases[-1:]]
    if not c.erased:
        g.profile(c, ts, erase=True)
        ts += rng.randint(30, 480) * MINUTE
    items = g.clean_items(c, ts)
    title, body = _copy(g, c, "batch", items[0])
    g.rec(
        c,
        ts,
        g.channel(c, ts),
        "batch",
        items,
        title,
        body,
        ["purchase_history"] if based_on else ["browsing"],
        based_on,
    )


FAILURES: dict[str, Callable[[Core, int], None]] = {
    f.__name__: f
    for f in (
        already_purchased,
        duplicate_recommendation,
        frequency_cap,
        unresolved_placeholder,
        gift_purchase_signal,
        undeclared_life_event,
        sensitive_category,
        location_trigger,
        third_party_data,
        too_granular,
        too_soon,
        quiet_hours,
        expired,
        personalization_opt_out,
        channel_opt_out,
        erased,
    )
}
# Bursts make several recommendations each, so they are drawn less often.
FAILURE_WEIGHTS: dict[str, float] = {
    name: 0.3 if name in ("duplicate_recommendation", "frequency_cap") else 1.0 for name in FAILURES
}
