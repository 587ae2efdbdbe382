"""Coherent rewrites: copy that still names an item a rule dropped goes too.

When ``already_purchased`` or ``duplicate_recommendation`` drops items, a body sentence
naming one is dropped (no sentence left: suppress) and a title naming one suppresses the
recommendation (it is about the item the customer already has). An item is named by its SKU
or by its category's last path segment, hyphens read as spaces, as a whole word, case
insensitive, as written or without a final ``s`` or ``es`` (``home/toilet-seats``: "toilet
seats", "toilet seat"), unless a kept item's category ends in the same segment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from guardrail.core.records import RecItem
from guardrail.core.sentences import alternation, drop_sentences


def last_segment(category: str) -> str:
    """The category's last path segment, lower-cased: ``home/toilet-seats`` -> ``toilet-seats``."""
    return category.rsplit("/", 1)[-1].strip().lower()


@lru_cache(maxsize=4096)
def segment_forms(segment: str) -> tuple[str, ...]:
    """How copy names a category segment: hyphens as spaces, as written or without a final
    ``s`` or ``es``. ``toilet-seats`` -> ("toilet seats", "toilet seat")."""
    words = " ".join(segment.replace("-", " ").split())
    forms = [words]
    if words.endswith("es") and len(words) > 2:
        forms.append(words[:-2])
    if words.endswith("s") and len(words) > 1:
        forms.append(words[:-1])
    return tuple(f for f in forms if f.strip())


@lru_cache(maxsize=4096)
def _names_regex(terms: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)(?:{alternation(terms)})(?!\w)", re.IGNORECASE)


def names_pattern(
    items: Sequence[RecItem], dropped: frozenset[int], kept: Sequence[int]
) -> re.Pattern[str] | None:
    """A regex for what names one of the ``dropped`` items, or None when nothing could."""
    shared = {last_segment(items[i].category) for i in kept}
    terms: list[str] = []
    for i in sorted(dropped):
        item = items[i]
        if item.sku.strip():
            terms.append(item.sku)
        segment = last_segment(item.category)
        if segment and segment not in shared:
            terms.extend(segment_forms(segment))
    if not terms:
        return None
    return _names_regex(tuple(sorted(set(terms))))


@dataclass(frozen=True, slots=True)
class Coherence:
    """What the copy lost: the title names a dropped item (suppress), or body sentences did."""

    title_names: bool
    body: str | None  # the body without those sentences; None when no sentence is left
    sentences: int  # body sentences dropped

    def note(self) -> str:
        if self.title_names:
            return "; the title names a dropped item"
        n = self.sentences
        note = f"; dropped {n} sentence{'s' if n != 1 else ''} naming a dropped item"
        return note + ("; no sentence left" if self.body is None else "")

    @property
    def suppress(self) -> bool:
        return self.title_names or self.body is None


def cohere(
    title: str | None, body: str, pattern: re.Pattern[str], greeting: re.Pattern[str]
) -> Coherence | None:
    """How the copy changes once the items ``pattern`` names are gone; None when it names none."""
    if title is not None and pattern.search(title) is not None:
        return Coherence(True, body, 0)
    hits = [(m.start(), m.end(), 0) for m in pattern.finditer(body) if m.end() > m.start()]
    if not hits:
        return None
    kept, kinds = drop_sentences(body, hits, greeting)
    return Coherence(False, kept, len(kinds))
