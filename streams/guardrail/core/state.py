"""Per-customer state: only what the rules need, pruned to the policy's windows on every update.

A state is immutable; every update returns a new one. It serializes to compact JSON, the form
it takes in the Kafka changelog.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from guardrail.core.records import Action, Consent


class PurchaseMark(NamedTuple):
    """One purchased item; kept until ``keep_until`` (event time)."""

    ts: int
    event_id: str
    sku: str
    category: str
    gift: bool
    keep_until: int


class RootMark(NamedTuple):
    """The latest purchase under a durable or consumable category of the policy.

    Item marks are forgotten after about a month; ``already_purchased`` needs only the
    latest purchase per durable or consumable category for its long windows, so those are
    kept here, one mark per category, however much the customer buys.
    """

    root: str
    ts: int
    keep_until: int


class BrowseMark(NamedTuple):
    ts: int
    event_id: str
    action: str
    category: str | None
    query: str | None


class FlagMark(NamedTuple):
    """A browsing event in a sensitive category, kept as long as flagged purchases are, so a
    recommendation built on it (``based_on``) is still caught by ``sensitive_category``."""

    ts: int
    event_id: str
    category: str


class PlaceMark(NamedTuple):
    ts: int
    name: str


class DeliveryMark(NamedTuple):
    """A delivered or rewritten recommendation: what caps and duplicates count."""

    ts: int
    channel: str
    skus: tuple[str, ...]


class ReasonMemo(NamedTuple):
    code: str
    detail: str
    shadow: bool


class DecisionMemo(NamedTuple):
    """Enough of a past decision to give a redelivered recommendation the same one."""

    rec_id: str
    ts: int
    action: Action
    reasons: tuple[ReasonMemo, ...]
    kept: tuple[int, ...]  # indices of the items kept
    title: str | None  # title and body: only when text_changed (else the recommendation's own)
    body: str | None
    deliver_after: int | None
    explanation: str | None
    text_changed: bool


class Profile(NamedTuple):
    """The stored profile: the merge of every partial profile update seen."""

    first_name: str | None = None
    timezone: str | None = None
    consent: Consent | None = None
    channel_opt_outs: tuple[str, ...] = ()
    declared_life_events: tuple[str, ...] = ()


EMPTY_PROFILE = Profile()


class CustomerState(NamedTuple):
    """Everything remembered about one customer. ``clock`` is the latest event time seen.

    A NamedTuple: immutable, and cheap to build anew on every event (the hot path).
    """

    clock: int = 0
    erased: bool = False
    profile: Profile = EMPTY_PROFILE
    purchases: tuple[PurchaseMark, ...] = ()
    bought: tuple[RootMark, ...] = ()
    browsing: tuple[BrowseMark, ...] = ()
    places: tuple[PlaceMark, ...] = ()
    deliveries: tuple[DeliveryMark, ...] = ()
    recent: tuple[DecisionMemo, ...] = ()
    flagged: tuple[FlagMark, ...] = ()

    def is_empty(self) -> bool:
        """True when nothing worth storing is left (the store may delete the key)."""
        return (
            not self.erased
            and self.profile == EMPTY_PROFILE
            and not self.purchases
            and not self.bought
            and not self.browsing
            and not self.places
            and not self.deliveries
            and not self.recent
            and not self.flagged
        )


EMPTY_STATE = CustomerState()


def _consent_to_json(consent: Consent | None) -> list[Any] | None:
    if consent is None:
        return None
    return [
        consent.personalization,
        consent.location_marketing,
        consent.third_party_data,
        list(consent.sensitive_categories),
    ]


def _consent_from_json(data: list[Any] | None) -> Consent | None:
    if data is None:
        return None
    return Consent(
        personalization=data[0],
        location_marketing=data[1],
        third_party_data=data[2],
        sensitive_categories=tuple(data[3]),
    )


def _rows(marks: tuple[tuple[Any, ...], ...]) -> list[tuple[Any, ...]]:
    # orjson writes plain tuples as arrays but takes NamedTuples (the marks) to its
    # ``default`` hook, a Python call per mark: plain tuples here cost a fraction of that.
    return [tuple(mark) for mark in marks]


def _memo_row(m: DecisionMemo) -> tuple[Any, ...]:
    reasons = [tuple(reason) for reason in m[3]]
    return (m[0], m[1], m[2], reasons, m[4], m[5], m[6], m[7], m[8], m[9])


def state_to_json(state: CustomerState) -> bytes:
    """Compact, deterministic JSON of a state (positional arrays keep it small)."""
    p = state.profile
    doc: dict[str, Any] = {
        "v": 1,
        "c": state.clock,
        "e": state.erased,
        "p": [
            p.first_name,
            p.timezone,
            _consent_to_json(p.consent),
            list(p.channel_opt_outs),
            list(p.declared_life_events),
        ],
        "pu": _rows(state.purchases),
        "bo": _rows(state.bought),
        "b": _rows(state.browsing),
        "pl": _rows(state.places),
        "d": _rows(state.deliveries),
        "r": [_memo_row(memo) for memo in state.recent],
    }
    if state.flagged:  # absent when empty: states written before flagged memory read the same
        doc["f"] = _rows(state.flagged)
    # orjson: the same compact UTF-8 bytes as json.dumps(separators=(",", ":"),
    # ensure_ascii=False) at ~2.5x the speed; the worker reads and writes a state per event.
    return orjson.dumps(doc)


def state_from_json(data: bytes | str) -> CustomerState:
    """Inverse of :func:`state_to_json`."""
    doc = orjson.loads(data)
    if doc.get("v") != 1:
        raise ValueError(f"unsupported customer state version {doc.get('v')!r}")
    first_name, timezone, consent, opt_outs, life_events = doc["p"]
    return CustomerState(
        clock=doc["c"],
        erased=doc["e"],
        profile=Profile(
            first_name=first_name,
            timezone=timezone,
            consent=_consent_from_json(consent),
            channel_opt_outs=tuple(opt_outs),
            declared_life_events=tuple(life_events),
        ),
        purchases=tuple(PurchaseMark(*m) for m in doc["pu"]),
        bought=tuple(RootMark(*m) for m in doc["bo"]),
        browsing=tuple(BrowseMark(*m) for m in doc["b"]),
        places=tuple(PlaceMark(*m) for m in doc["pl"]),
        deliveries=tuple(DeliveryMark(m[0], m[1], tuple(m[2])) for m in doc["d"]),
        recent=tuple(
            DecisionMemo(
                m[0],
                m[1],
                m[2],
                tuple(ReasonMemo(*r) for r in m[3]),
                tuple(m[4]),
                *m[5:],
            )
            for m in doc["r"]
        ),
        flagged=tuple(FlagMark(*m) for m in doc.get("f", ())),
    )
