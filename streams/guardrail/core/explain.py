"""The customer-facing explanation of a delivered recommendation ("Because you bought a laptop").

Built only from the customer's own non-gift purchases and browsing named in ``based_on``, and
never from a sensitive category. It names no place, time or search query: only categories.
"""

from __future__ import annotations

from guardrail.core.categories import CategoryIndex
from guardrail.core.records import Recommendation
from guardrail.core.state import CustomerState

_VERBS = {"view": "viewed", "add_to_cart": "added {} to your cart", "search": "looked for"}
MAX_PHRASES = 2


def noun(category: str) -> str:
    """A readable noun for a category path: ``electronics/laptops`` -> ``a laptop``."""
    leaf = category.rsplit("/", 1)[-1].replace("-", " ").replace("_", " ").strip()
    if leaf.endswith("ies") and len(leaf) > 4:
        singular = leaf[:-3] + "y"
    elif leaf.endswith("s") and not leaf.endswith("ss") and len(leaf) > 3:
        singular = leaf[:-1]
    else:
        return leaf  # a mass noun: "coffee", "furniture"
    article = "an" if singular[:1] in "aeiou" else "a"
    return f"{article} {singular}"


def _phrase(verb: str, category: str) -> str:
    thing = noun(category)
    return verb.format(thing) if "{}" in verb else f"{verb} {thing}"


def explain(rec: Recommendation, state: CustomerState, index: CategoryIndex) -> str | None:
    """The explanation for ``rec``, or None when nothing it is based on may be named."""
    if not rec.based_on:
        return None
    wanted = set(rec.based_on)
    found: dict[str, list[str]] = {}
    for p in state.purchases:
        if p.event_id in wanted and not p.gift and not index.sensitive_groups(p.category):
            found.setdefault(p.event_id, []).append(_phrase("bought", p.category))
    for b in state.browsing:
        verb = _VERBS.get(b.action)
        if (
            verb is not None
            and b.category
            and b.event_id in wanted
            and not index.sensitive_groups(b.category)
        ):
            found.setdefault(b.event_id, []).append(_phrase(verb, b.category))
    phrases: list[str] = []
    for event_id in rec.based_on:
        for phrase in found.get(event_id, ()):
            if phrase not in phrases:
                phrases.append(phrase)
    if not phrases:
        return None
    return "Because you " + " and ".join(phrases[:MAX_PHRASES])
