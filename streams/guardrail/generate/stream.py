"""`guardrail generate`: seeded, realistic mixed event streams for demos, benchmarks and tests.

The stream is one global timeline: customer *arrivals* (a browsing session, a purchase, a few
location pings, a profile change, or a recommendation with whatever set-up it needs) come in
time order, each schedules its events on a small heap, and events leave the heap in ``ts``
order. Memory is bounded by the customers' small per-customer state plus the few hours of
events in flight, never by the length of the stream. The same config gives the same stream,
byte for byte: all randomness comes from ``random.Random(seed)`` and time from ``start_ms``.

A share ``failure_rate`` of the recommendations is built to be creepy (each one aimed at one of
the contract's reason codes, see :mod:`guardrail.generate.failures`); the rest are built clean.
"""

from __future__ import annotations

import heapq
import json
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

from guardrail.core.records import Event, parse_event
from guardrail.generate.catalog import (
    CATALOG,
    CLEAN_BODIES,
    CLEAN_TITLES,
    COMPLEMENTS,
    GIFTABLE,
    LIFE_COPY,
    PLACES,
    TRANSACTIONAL_COPY,
)
from guardrail.generate.customers import (
    DAY,
    HOUR,
    MINUTE,
    PRODUCTS,
    START_MS,
    Core,
    Cust,
    FastRandom,
    fill,
)
from guardrail.generate.failures import FAILURE_WEIGHTS, FAILURES

__all__ = [
    "START_MS",
    "GeneratorConfig",
    "generate_events",
    "generate_lines",
    "generate_messages",
    "generate_records",
    "write_jsonl",
]


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. Every field has a sensible default; the stream depends on all of them.

    ``events`` counts valid events. ``recommendation_share`` is met within a percent or two
    while customers' first profiles leave room for it (up to about 0.5 for 1000 customers and
    10,000 events); at 1.0 every arrival is a recommendation, but customers' first profiles
    and the signals a failure needs (the purchase it re-offers ...) still come along.

    ``bad_line_rate`` only affects :func:`generate_lines` and :func:`write_jsonl`: after each
    valid event, with that probability, one malformed line follows (bad JSON, a missing
    field, an unknown enum ...). The valid lines are the same whatever the bad-line rate.
    """

    seed: int = 42
    customers: int = 1000
    events: int = 10_000
    days: float = 90.0
    start_ms: int = START_MS
    recommendation_share: float = 0.2
    failure_rate: float = 0.3
    bad_line_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("customers must be at least 1")
        if self.events < 0:
            raise ValueError("events must not be negative")
        if not self.days > 0:
            raise ValueError("days must be positive")
        if self.start_ms < 0:
            raise ValueError("start_ms must not be negative")
        for name in ("recommendation_share", "failure_rate", "bad_line_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")


class _Generator(Core):
    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__(FastRandom(cfg.seed), cfg.customers)
        self.cfg = cfg
        self.failures = 0
        kinds = list(FAILURES)
        self.failure_kinds = kinds
        total = 0.0
        self.failure_cum: list[float] = []
        for kind in kinds:
            total += FAILURE_WEIGHTS[kind]
            self.failure_cum.append(total)

    def run(self) -> Iterator[dict[str, Any]]:
        cfg, rng, heap = self.cfg, self.rng, self.heap
        n_events, share, fail_rate = cfg.events, cfg.recommendation_share, cfg.failure_rate
        end = cfg.start_ms + int(cfg.days * DAY)
        t = cfg.start_ms
        emitted = 0
        arrivals = 0
        heappop = heapq.heappop
        while self.planned < n_events:
            # Aim the arrival rate so the stream ends about `days` after the start.
            per_arrival = self.planned / arrivals if arrivals else 4.0
            left = (n_events - self.planned) / per_arrival
            gap = max((end - t) / max(left, 1.0), 1000.0)
            t += int(rng.expovariate(1.0 / gap))
            while heap and heap[0][0] <= t:
                yield heappop(heap)[2]
                emitted += 1
            arrivals += 1
            if share > 0 and (share >= 1 or self.recs < share * (self.planned + 1)):
                if fail_rate > 0 and self.failures < fail_rate * (self.recs + 1):
                    before = self.recs
                    self.failure(t)
                    self.failures += self.recs - before
                else:
                    self.clean_rec(t)
            else:
                self.session(t)
        while heap and emitted < n_events:
            yield heappop(heap)[2]
            emitted += 1

    def session(self, t: int) -> None:
        """A customer's burst of signals: browsing, a purchase, location pings, a profile."""
        rng = self.rng
        c = self.pick(t)
        ts = self.begin(c, t)
        x = rng.random()
        if x < 0.52:
            cat = rng.choice(c.fav) if rng.random() < 0.7 else rng.choice(tuple(CATALOG))
            products = PRODUCTS[cat]
            if rng.random() < 0.45:
                self.browse(c, ts, "search", None, None, rng.choice(CATALOG[cat][4]))
                ts += rng.randint(5, 60) * 1000
            seen = None
            for _ in range(rng.randint(1, 4)):
                seen = rng.choice(products)
                self.browse(c, ts, "view", seen[0], cat)
                ts += rng.randint(15, 240) * 1000
            if seen and rng.random() < 0.35:
                self.browse(c, ts, "add_to_cart", seen[0], cat)
                ts += rng.randint(20, 600) * 1000
                y = rng.random()
                if y < 0.12:
                    self.browse(c, ts, "remove_from_cart", seen[0], cat)
                elif y < 0.5:
                    self.purchase(c, ts, [seen], [cat])
        elif x < 0.7:
            gift = rng.random() < 0.08
            cats = [
                rng.choice(GIFTABLE)
                if gift
                else rng.choice(c.fav)
                if rng.random() < 0.5
                else rng.choice(tuple(CATALOG))
                for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))
            ]
            self.purchase(c, ts, [rng.choice(PRODUCTS[k]) for k in cats], cats, gift)
        elif x < 0.92:
            for _ in range(rng.randint(1, 3)):
                self.location(c, ts, rng.choice(PLACES) if rng.random() < 0.5 else None)
                ts += rng.randint(3, 40) * MINUTE
        elif c.erase_planned and not c.erased and c.started and rng.random() < 0.3:
            self.profile(c, ts, erase=True)
        else:  # a consent change
            y = rng.random()
            if y < 0.4:
                c.loc_ok = not c.loc_ok
            elif y < 0.6:
                c.tp_ok = not c.tp_ok
            elif y < 0.8:
                c.opt_outs = () if c.opt_outs else (rng.choice(("sms", "push", "email")),)
                if c.opt_outs:
                    self.optout_chan.append(c)
            else:
                c.sens = () if c.sens else ("health",)
            self.profile(c, ts, consent=True)

    def clean_rec(self, t: int) -> None:
        """A recommendation meant to pass: consented sources, fresh items, polite copy."""
        rng = self.rng
        c = self.pick(t)
        for _ in range(3):
            recs = c.recs
            if len(recs) < 3 or t - recs[-3][0] > 25 * HOUR:
                break
            c = self.pick(t)
        ts = self.begin(c, t)
        personal = c.pers and not c.erased
        if personal and rng.random() < 0.8:
            trigger, sources, based_on, prefer, noun, life = self._clean_reason(c, ts)
        else:
            trigger, sources, based_on, prefer, noun, life = "batch", [], [], (), "order", None
        items = self.clean_items(c, ts, prefer, rng.choice((1, 1, 2, 3)))
        name, greet = self._product_name(items[0]), self.greet(c)
        title, body = self._clean_copy(
            items[0], name, greet, trigger if personal else "batch", noun, life
        )
        ch = self.channel(c, ts)
        if trigger == "purchase" and rng.random() < 0.5:
            # A cross-sell inside the order confirmation: transactional, any hour, uncapped.
            title, template = rng.choice(TRANSACTIONAL_COPY)
            body = fill(template, greet=greet, product=name)
            if "push" not in c.opt_outs and rng.random() < 0.3:
                ch = "push"  # even at night: transactional messages skip quiet hours
            self.rec(
                c, ts, ch, trigger, items, title, body, sources, based_on,
                message_class="transactional",
            )  # fmt: skip
            return
        after = None
        if ch in ("email", "ad") and rng.random() < 0.15:
            after = self.next_local(c.known_tzi(), ts + HOUR, 9, 18)
        campaign = f"cmp-{trigger}-{(ts // (7 * DAY)) % 100:02d}" if trigger == "batch" else None
        self.rec(
            c,
            ts,
            ch,
            trigger,
            items,
            title if rng.random() < 0.9 else None,
            body,
            sources,
            based_on,
            life,
            after,
            campaign,
        )

    def _clean_reason(
        self, c: Cust, ts: int
    ) -> tuple[str, list[str], list[str], tuple[str, ...], str, str | None]:
        """A personal recommendation's trigger, data sources, ``based_on``, preferred
        categories, copy noun and life event, from what the customer did and allowed."""
        rng = self.rng
        sources: list[str] = []
        based_on: list[str] = []
        life, noun = None, "order"
        prefer: tuple[str, ...] = ()
        last_browse = c.browses[-1] if c.browses else None
        options = ["batch"]
        if (
            last_browse
            and 31 * MINUTE < ts - last_browse[0] < 7 * DAY
            and (last_browse[4] is None or self.allowed(c, last_browse[4]))
        ):
            options += ["cart" if last_browse[2] == "add_to_cart" else "browse"] * 3
        buys = [
            p
            for p in c.purchases
            if not p[3] and ts - p[0] < 30 * DAY and all(self.allowed(c, k) for _s, k in p[2])
        ]
        if buys:
            options += ["purchase"] * 2
        if c.loc_ok and c.locs and ts - c.locs[-1][0] < DAY:
            options += ["location"] * 2
        if c.declared and c.profiled:
            options.append("life_event")
        trigger = rng.choice(options)
        if trigger in ("browse", "cart") and last_browse:
            sources, based_on = ["browsing"], [last_browse[1]]
            if last_browse[4] and self.allowed(c, last_browse[4]):
                prefer = (last_browse[4],)
        elif trigger == "purchase":
            p = buys[-1]
            cat = p[2][0][1]
            sources, based_on = ["purchase_history"], [p[1]]
            prefer, noun = COMPLEMENTS.get(cat, c.fav), CATALOG[cat][0]
        elif trigger == "location":
            sources, based_on = ["location"], [c.locs[-1][1]]
        elif trigger == "life_event":
            life = c.declared[0]
            sources, prefer = ["profile"], LIFE_COPY[life][2]
        else:
            sources, based_on = self._batch_sources(c, ts)
        return trigger, sources, based_on, prefer, noun, life

    def _batch_sources(self, c: Cust, ts: int) -> tuple[list[str], list[str]]:
        rng = self.rng
        based_on: list[str] = []
        sources = rng.choice((["purchase_history"], ["inferred"], ["browsing"]))
        if c.tp_ok and rng.random() < 0.3:
            sources = [*sources, rng.choice(("third_party", "social"))]
        elif c.purchases and sources == ["purchase_history"]:
            based_on = [
                p[1]
                for p in c.purchases[-2:]
                if not p[3] and ts > p[0] and all(self.allowed(c, k) for _s, k in p[2])
            ]
        return sources, based_on

    def _product_name(self, item: tuple[str, str]) -> str:
        sku, cat = item
        return next((p[1] for p in PRODUCTS.get(cat, ()) if p[0] == sku), "gift card")

    def _clean_copy(
        self, item: tuple[str, str], name: str, greet: str, key: str, noun: str, life: str | None
    ) -> tuple[str, str]:
        """Title and body of a clean recommendation of ``item`` (sku, category)."""
        rng = self.rng
        cat = item[1]
        label = CATALOG[cat][1] if cat in CATALOG else "gift cards"
        if life:
            return LIFE_COPY[life][0], f"{greet} {LIFE_COPY[life][1]}"
        title = fill(rng.choice(CLEAN_TITLES[key]), product=name, label=label)
        body = fill(
            rng.choice(CLEAN_BODIES[key]), greet=greet, product=name, label=label, noun=noun
        )
        return title, body

    def failure(self, t: int) -> None:
        i = _bisect(self.failure_cum, self.rng.random() * self.failure_cum[-1])
        FAILURES[self.failure_kinds[i]](self, t)


def _bisect(cum: list[float], x: float) -> int:
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def generate_events(cfg: GeneratorConfig | None = None) -> Iterator[dict[str, Any]]:
    """Yield ``cfg.events`` event dicts (``type`` plus the record's fields) in ``ts`` order.

    Never yields malformed lines; see :func:`generate_lines` for those.
    """
    return _Generator(cfg or GeneratorConfig()).run()


def generate_records(cfg: GeneratorConfig | None = None) -> Iterator[tuple[str, Event]]:
    """Yield ``(type, record)`` pairs, each validated with :func:`records.parse_event`."""
    for event in generate_events(cfg):
        kind = event["type"]
        yield kind, parse_event(kind, event)


class Message(NamedTuple):
    """A generated event as a Kafka message of its input topic."""

    kind: str  # the record kind: its input topic's logical name
    key: bytes  # customer_id
    value: bytes  # the record's compact JSON, without "type"
    rec_id: str | None  # a recommendation's rec_id, else None


def generate_messages(cfg: GeneratorConfig | None = None) -> Iterator[Message]:
    """Yield the generated events as Kafka messages, in ``ts`` order."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for event in generate_events(cfg):
        kind = event.pop("type")
        rec_id = event.get("rec_id") if kind == "recommendation" else None
        yield Message(kind, event["customer_id"].encode(), dumps(event).encode(), rec_id)


def generate_lines(cfg: GeneratorConfig | None = None) -> Iterator[str]:
    """Yield JSON lines (without newline): the valid events, plus malformed lines at
    ``cfg.bad_line_rate`` drawn from a separate random stream (so valid lines never change)."""
    cfg = cfg or GeneratorConfig()
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    rate = cfg.bad_line_rate
    bad_rng = random.Random(cfg.seed * 1_000_003 + 7)
    for event in generate_events(cfg):
        line = dumps(event)
        yield line
        if rate > 0 and bad_rng.random() < rate:
            yield bad_line(event, line, bad_rng)


def bad_line(event: dict[str, Any], line: str, rng: random.Random) -> str:
    """A malformed variant of ``event``: what a replay or consumer must reject, not crash on."""
    kind = rng.randrange(7)
    if kind == 0:
        return line[: max(1, len(line) // 2)]  # truncated JSON
    if kind == 1:
        return rng.choice(("not json at all", "{'type': 'purchase'}", "[1, 2, 3]", "null"))
    broken = dict(event)
    if kind == 2:  # a required field missing
        broken.pop("customer_id", None)
    elif kind == 3:
        broken.pop("ts", None)
    elif kind == 4:  # unknown enum value
        field = {"recommendation": "channel", "browsing": "action"}.get(event["type"])
        if field is None:
            broken["type"] = "click"
        else:
            broken[field] = "fax" if field == "channel" else "wishlist"
    elif kind == 5:
        broken["ts"] = "yesterday"  # wrong type
    else:
        broken["type"] = rng.choice(("", "pageview", None))
    return json.dumps(broken, ensure_ascii=False, separators=(",", ":"))


def write_jsonl(
    cfg: GeneratorConfig,
    out: str | Path | IO[str] | None = None,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 100_000,
) -> int:
    """Write :func:`generate_lines` to ``out`` (a path, an open text file, or stdout when None
    or ``"-"``), one line each. Calls ``progress(lines)`` every ``progress_every`` lines.
    Returns the number of lines written."""
    if out is None or out == "-":
        return _write(cfg, sys.stdout, progress, progress_every)
    if isinstance(out, str | Path):
        with open(out, "w", encoding="utf-8", newline="\n") as fh:
            return _write(cfg, fh, progress, progress_every)
    return _write(cfg, out, progress, progress_every)


def _write(
    cfg: GeneratorConfig,
    fh: IO[str],
    progress: Callable[[int], None] | None,
    every: int,
) -> int:
    count = 0
    buf: list[str] = []
    for line in generate_lines(cfg):
        buf.append(line)
        count += 1
        if len(buf) >= 1000:
            fh.write("\n".join(buf) + "\n")
            buf.clear()
        if progress is not None and count % every == 0:
            progress(count)
    if buf:
        fh.write("\n".join(buf) + "\n")
    fh.flush()
    return count
