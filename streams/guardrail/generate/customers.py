"""The generator's simulated customers, their signals and the helpers for clean recommendations.

Used by :mod:`guardrail.generate.stream`; creepy recommendations live in
:mod:`guardrail.generate.failures`.
Each customer's state stays small: a few recent events of each kind, capped lists.
"""

from __future__ import annotations

import bisect
import heapq
import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from guardrail.generate.catalog import (
    CATALOG,
    DURABLE,
    FIRST_NAMES,
    LIFE_EVENTS,
    PLACES,
    SENSITIVE_GROUPS,
    TIMEZONES,
)

if TYPE_CHECKING:
    from _typeshed import SupportsLenAndGetItem

T = TypeVar("T")
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MINUTE = 60_000
HOUR = 3_600_000
DAY = 86_400_000
CONSUMABLE_DAYS = {"grocery/coffee": 30, "pet/food": 30, "household/detergent": 45}
# Relative activity by local hour (people shop in the evening, sleep at night).
DIURNAL = (
    0.15,
    0.08,
    0.05,
    0.05,
    0.05,
    0.1,
    0.3,
    0.6,
    0.8,
    0.9,
    1.0,
    1.0,
    1.1,
    1.0,
    0.9,
    0.9,
    1.0,
    1.1,
    1.3,
    1.4,
    1.4,
    1.2,
    0.8,
    0.4,
)
NIGHT = tuple(1.0 if (h >= 22 or h < 6) else 0.0 for h in range(24))

# (sku, name, price) per category; group/durable/consumable facts per category.
PRODUCTS: dict[str, tuple[tuple[str, str, float], ...]] = {}
for _ci, (_cat, (_noun, _label, _names, (_lo, _hi), _q)) in enumerate(CATALOG.items()):
    _code = _cat.rsplit("/", 1)[-1][:3].upper()
    PRODUCTS[_cat] = tuple(
        (
            f"{_code}-{_ci:02d}{_pi + 1:02d}",
            _name,
            round(_lo + (_hi - _lo) * (_pi + 1) / (len(_names) + 1)) - 0.01 if _hi else 0.0,
        )
        for _pi, _name in enumerate(_names)
    )


def _covers(rule: str, cat: str) -> bool:
    return cat == rule or cat.startswith(rule + "/")


GROUPS_OF = {
    c: tuple(g for g, rules in SENSITIVE_GROUPS.items() if any(_covers(r, c) for r in rules))
    for c in CATALOG
}
DURABLE_OF = {c: next((d for d in DURABLE if _covers(d, c)), None) for c in CATALOG}
SENSITIVE_CATS = tuple(c for c in CATALOG if GROUPS_OF[c])
ORDINARY_CATS = tuple(c for c in CATALOG if not GROUPS_OF[c])
DURABLE_CATS = tuple(c for c in CATALOG if DURABLE_OF[c])
TZ_NAMES = tuple(tz for tz, _w, _c in TIMEZONES)
UTC_I = TZ_NAMES.index("UTC")
# How much each kind of recommendation matters to the brand: a cart reminder may use slots a
# policy reserves under the frequency cap (frequency_cap.reserved_slots), a generic promotion
# may not.
PRIORITY = {"cart": 90, "browse": 70, "purchase": 60, "life_event": 60, "batch": 50, "location": 40}


class FastRandom(random.Random):
    """``random.Random`` with cheaper ``choice`` and ``randint`` (one ``random()`` call each).

    Still fully determined by the seed; only the mapping from the stream to picks differs."""

    def choice(self, seq: SupportsLenAndGetItem[T]) -> T:
        return seq[int(self.random() * len(seq))]

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


def fill(template: str, **values: str) -> str:
    """Replace ``{key}`` for the given keys only: merge tags in bad copy stay as they are."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


class Cust:
    """One simulated customer: who they are and what the guardrail has seen of them."""

    __slots__ = (
        "bought",
        "browses",
        "busy",
        "cid",
        "declared",
        "erase_planned",
        "erased",
        "fav",
        "first_name",
        "gives_profile",
        "loc_ok",
        "locs",
        "opt_outs",
        "pers",
        "profiled",
        "purchases",
        "recs",
        "sens",
        "started",
        "tp_ok",
        "tzi",
    )

    def __init__(self, idx: int, tzi: int) -> None:
        self.cid = f"c-{idx:06d}"
        self.tzi = tzi
        self.busy = 0  # ts of the customer's last planned event
        self.started = self.profiled = self.erased = False
        self.first_name: str | None = None
        self.gives_profile = self.erase_planned = False
        self.fav: tuple[str, ...] = ()
        self.reset_consent()
        # recent events, newest last: (ts, event_id, items[(sku, cat)], gift)
        self.purchases: list[tuple[int, str, tuple[tuple[str, str], ...], bool]] = []
        self.browses: list[tuple[int, str, str, str | None, str | None, str | None]] = []
        self.locs: list[tuple[int, str, str | None]] = []
        self.recs: list[tuple[int, str, tuple[str, ...]]] = []  # (ts, channel, skus)
        self.bought: dict[str, int] = {}  # durable/consumable category or sku -> last ts

    def reset_consent(self) -> None:
        """What the guardrail assumes before any profile: the contract's defaults."""
        self.pers, self.loc_ok, self.tp_ok = True, False, False
        self.sens: tuple[str, ...] = ()
        self.opt_outs: tuple[str, ...] = ()
        self.declared: tuple[str, ...] = ()

    def known_tzi(self) -> int:
        return self.tzi if self.profiled else UTC_I


class Core:
    """Customers, signals and clean recommendations, scheduled on a heap of
    ``(ts, seq, event)``; ``seq`` keeps the order of events with the same ``ts``."""

    def __init__(self, rng: random.Random, customers: int) -> None:
        self.rng = rng
        self.seq = 0
        self.planned = 0
        self.recs = 0
        self.custs: dict[int, Cust] = {}
        self.heap: list[tuple[int, int, dict[str, Any]]] = []
        weights = [w for _tz, w, _c in TIMEZONES]
        total = sum(weights)
        cum = []
        acc = 0.0
        for w in weights:
            acc += w / total
            cum.append(acc)
        self.buckets: list[list[int]] = [[] for _ in TIMEZONES]
        for idx in range(customers):
            x = rng.random()
            b = min(bisect.bisect_right(cum, x), len(cum) - 1)
            self.buckets[b].append(idx)
        self.zones = [ZoneInfo(tz) for tz in TZ_NAMES]
        self.offsets: dict[int, int] = {}
        self._hour = -1
        self._cum: dict[bool, list[float]] = {}
        # customers with a given trait, for failures that need one
        self.optout_pers: list[Cust] = []
        self.optout_chan: list[Cust] = []
        self.erasers: list[Cust] = []

    # ---- time -------------------------------------------------------------------------
    def offset(self, tzi: int, ts: int) -> int:
        key = (ts // HOUR) * 64 + tzi
        off = self.offsets.get(key)
        if off is None:
            if len(self.offsets) > 50_000:
                self.offsets.clear()
            dt = datetime.fromtimestamp(ts / 1000, tz=UTC).astimezone(self.zones[tzi])
            delta = dt.utcoffset()
            off = int(delta.total_seconds() * 1000) if delta is not None else 0
            self.offsets[key] = off
        return off

    def local_hour(self, tzi: int, ts: int) -> int:
        return ((ts + self.offset(tzi, ts)) // HOUR) % 24

    def next_local(self, tzi: int, ts: int, lo: int, hi: int) -> int:
        """The first time at or after ``ts`` whose local hour is in ``[lo, hi)`` (may wrap)."""
        for _ in range(25):
            h = self.local_hour(tzi, ts)
            if (lo <= h < hi) if lo < hi else (h >= lo or h < hi):
                return ts
            ts = (ts // HOUR + 1) * HOUR
        return ts

    # ---- customers --------------------------------------------------------------------
    def pick(self, t: int, night: bool = False) -> Cust:
        """A customer, likelier where it is daytime (or night-time, for night failures)."""
        rng = self.rng
        hour = t // HOUR
        if hour != self._hour:
            self._hour = hour
            self._cum = {}
        cum = self._cum.get(night)
        if cum is None:
            table = NIGHT if night else DIURNAL
            cum, acc = [], 0.0
            for tzi, bucket in enumerate(self.buckets):
                acc += len(bucket) * table[self.local_hour(tzi, t)] + (1e-9 if bucket else 0)
                cum.append(acc)
            self._cum[night] = cum
        c = None
        for _ in range(4):
            b = min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)
            bucket = self.buckets[b]
            idx = bucket[int(len(bucket) * rng.random() ** 1.5)]
            c = self.custs.get(idx) or self.new_cust(idx, b)
            if c.busy <= t + 30 * MINUTE:
                return c
        assert c is not None
        return c

    def new_cust(self, idx: int, tzi: int) -> Cust:
        rng = self.rng
        c = Cust(idx, tzi)
        c.first_name = rng.choice(FIRST_NAMES) if rng.random() < 0.85 else None
        c.gives_profile = rng.random() < 0.93
        c.fav = (rng.choice(ORDINARY_CATS), rng.choice(ORDINARY_CATS))
        c.pers = rng.random() >= 0.04
        c.loc_ok = rng.random() < 0.25
        c.tp_ok = rng.random() < 0.15
        c.sens = (
            (rng.choice(("health", "reproductive", "financial_hardship")),)
            if rng.random() < 0.08
            else ()
        )
        x = rng.random()
        c.opt_outs = (
            ("sms",)
            if x < 0.06
            else ("push", "sms")
            if x < 0.09
            else ("email",)
            if x < 0.11
            else ()
        )
        c.declared = (rng.choice(LIFE_EVENTS),) if rng.random() < 0.06 else ()
        c.erase_planned = rng.random() < 0.01
        if not c.gives_profile:  # the guardrail will only know the defaults
            c.reset_consent()
        if not c.pers:
            self.optout_pers.append(c)
        if c.opt_outs:
            self.optout_chan.append(c)
        if c.erase_planned:
            self.erasers.append(c)
        self.custs[idx] = c
        return c

    def begin(self, c: Cust, t: int) -> int:
        """Start an arrival for ``c`` no earlier than its last planned event; sends the
        customer's first profile on their first arrival."""
        ts = max(t, c.busy + self.rng.randint(60, 600) * 1000) if c.busy > t else t
        if not c.started:
            c.started = True
            if c.gives_profile:
                self.profile(c, ts, full=True)
                ts += self.rng.randint(5, 120) * 1000
        return ts

    # ---- signals ------------------------------------------------------------------------
    def _eid(self, prefix: str) -> str:
        return f"{prefix}-{self.seq + 1:09d}"

    def emit(self, c: Cust, ts: int, event: dict[str, Any]) -> None:
        self.planned += 1
        if ts > c.busy:
            c.busy = ts
        self.seq += 1
        heapq.heappush(self.heap, (ts, self.seq, event))

    def consent(self, c: Cust) -> dict[str, Any]:
        return {
            "personalization": c.pers,
            "location_marketing": c.loc_ok,
            "third_party_data": c.tp_ok,
            "sensitive_categories": list(c.sens),
        }

    def profile(
        self, c: Cust, ts: int, full: bool = False, consent: bool = False, erase: bool = False
    ) -> str:
        eid = self._eid("e")
        default = c.pers and not (c.loc_ok or c.tp_ok or c.sens)
        send_consent = consent or (full and not (default and self.rng.random() < 0.5))
        self.emit(
            c,
            ts,
            {
                "type": "profile",
                "event_id": eid,
                "customer_id": c.cid,
                "ts": ts,
                "first_name": c.first_name if full else None,
                "timezone": TZ_NAMES[c.tzi] if full else None,
                "consent": self.consent(c) if send_consent else None,
                "channel_opt_outs": list(c.opt_outs) if full or consent else None,
                "declared_life_events": list(c.declared) if full else None,
                "erase": erase,
            },
        )
        if full:
            c.profiled = True
        if consent or full:
            c.erased = False
        if erase:  # the guardrail forgets everything: only defaults remain
            c.erased, c.profiled = True, False
            c.reset_consent()
            c.first_name = None
            c.purchases.clear()
            c.browses.clear()
            c.locs.clear()
            c.bought.clear()
        return eid

    def purchase(
        self,
        c: Cust,
        ts: int,
        items: list[tuple[str, str, float]],
        cats: list[str],
        gift: bool = False,
    ) -> str:
        rng = self.rng
        eid = self._eid("e")
        self.emit(
            c,
            ts,
            {
                "type": "purchase",
                "event_id": eid,
                "customer_id": c.cid,
                "ts": ts,
                "order_id": f"o-{self.seq + 1:09d}",
                "items": [
                    {
                        "sku": p[0],
                        "category": cat,
                        "quantity": 1 if rng.random() < 0.85 else 2,
                        "price": p[2],
                    }
                    for p, cat in zip(items, cats, strict=True)
                ],
                "gift": gift,
            },
        )
        pairs = tuple((p[0], cat) for p, cat in zip(items, cats, strict=True))
        c.purchases.append((ts, eid, pairs, gift))
        if len(c.purchases) > 4:
            del c.purchases[0]
        for sku, cat in pairs:
            c.bought[sku] = ts
            key = DURABLE_OF[cat] or (cat if cat in CONSUMABLE_DAYS else None)
            if key:
                c.bought[key] = ts
        if len(c.bought) > 24:  # keep the newest
            for k in sorted(c.bought, key=c.bought.__getitem__)[:8]:
                del c.bought[k]
        return eid

    def browse(
        self,
        c: Cust,
        ts: int,
        action: str,
        sku: str | None,
        cat: str | None,
        query: str | None = None,
    ) -> str:
        eid = self._eid("e")
        self.emit(
            c,
            ts,
            {
                "type": "browsing",
                "event_id": eid,
                "customer_id": c.cid,
                "ts": ts,
                "action": action,
                "sku": sku,
                "category": cat,
                "query": query,
            },
        )
        c.browses.append((ts, eid, action, sku, cat, query))
        if len(c.browses) > 4:
            del c.browses[0]
        return eid

    def location(self, c: Cust, ts: int, place: str | None) -> str:
        rng = self.rng
        eid = self._eid("e")
        lat, lon = TIMEZONES[c.tzi][2]
        self.emit(
            c,
            ts,
            {
                "type": "location",
                "event_id": eid,
                "customer_id": c.cid,
                "ts": ts,
                "lat": round(lat + rng.uniform(-0.08, 0.08), 5),
                "lon": round(lon + rng.uniform(-0.08, 0.08), 5),
                "accuracy_m": round(rng.uniform(4, 65), 1),
                "place_id": f"pl-{PLACES.index(place):03d}-{c.tzi:02d}" if place else None,
                "place_name": place,
            },
        )
        c.locs.append((ts, eid, place))
        if len(c.locs) > 2:
            del c.locs[0]
        return eid

    # ---- recommendations ------------------------------------------------------------------
    def rec(
        self,
        c: Cust,
        ts: int,
        channel: str,
        trigger: str,
        items: list[tuple[str, str]],
        title: str | None,
        body: str,
        sources: list[str],
        based_on: list[str],
        life_event: str | None = None,
        deliver_after: int | None = None,
        campaign: str | None = None,
        message_class: str = "marketing",
        expires_at: int | None = None,
    ) -> None:
        self.recs += 1
        self.emit(
            c,
            ts,
            {
                "type": "recommendation",
                "rec_id": f"r-{self.seq + 1:09d}",
                "customer_id": c.cid,
                "ts": ts,
                "channel": channel,
                "campaign_id": campaign,
                "trigger": trigger,
                "items": [{"sku": s, "category": k} for s, k in items],
                "title": title,
                "body": body,
                "data_sources": sources,
                "based_on": based_on,
                "life_event": life_event,
                "deliver_after": deliver_after,
                "message_class": message_class,
                "priority": PRIORITY[trigger],
                "expires_at": expires_at,
            },
        )
        if message_class == "transactional":
            return  # never counts toward caps or duplicates
        c.recs.append((ts, channel, tuple(s for s, _ in items)))
        if len(c.recs) > 6:
            del c.recs[0]

    def greet(self, c: Cust) -> str:
        if c.first_name and c.profiled:
            return f"{self.rng.choice(('Hi', 'Hello', 'Hey'))} {c.first_name},"
        return self.rng.choice(("Hello,", "Hi there,"))

    def allowed(self, c: Cust, cat: str) -> bool:
        return all(g in c.sens for g in GROUPS_OF[cat])

    def fresh(self, c: Cust, cat: str, ts: int) -> bool:
        """Whether recommending from ``cat`` trips neither a durable nor a consumable window."""
        key = DURABLE_OF[cat]
        if key and ts - c.bought.get(key, -(10**15)) < 366 * DAY:
            return False
        days = CONSUMABLE_DAYS.get(cat)
        return not (days and ts - c.bought.get(cat, -(10**15)) < (days + 1) * DAY)

    def clean_items(
        self, c: Cust, ts: int, prefer: tuple[str, ...] = (), n: int = 1
    ) -> list[tuple[str, str]]:
        rng = self.rng
        recent = {s for r_ts, _ch, skus in c.recs if ts - r_ts < 8 * DAY for s in skus}
        out: list[tuple[str, str]] = []
        for attempt in range(12):
            if len(out) >= n:
                break
            pool = prefer if prefer and attempt < 6 else c.fav if attempt < 9 else ORDINARY_CATS
            cat = rng.choice(pool)
            if not self.allowed(c, cat) or not self.fresh(c, cat, ts):
                continue
            sku = rng.choice(PRODUCTS[cat])[0]
            if sku in recent or ts - c.bought.get(sku, -(10**15)) < 31 * DAY:
                continue
            recent.add(sku)
            out.append((sku, cat))
        return out or [("GIF-9999", "gift-cards")]

    def channel(self, c: Cust, ts: int, night_ok: bool = False) -> str:
        rng = self.rng
        day = 9 <= self.local_hour(c.known_tzi(), ts) < 20
        for _ in range(6):
            ch = rng.choice(("email", "email", "in_app", "in_app", "ad", "push", "sms"))
            if ch in c.opt_outs:
                continue
            if (
                ch in ("push", "sms")
                and not night_ok
                and (not day or any(ts - r[0] < 25 * HOUR and r[1] == ch for r in c.recs))
            ):
                continue
            return ch
        return "in_app" if "in_app" not in c.opt_outs else "ad"
