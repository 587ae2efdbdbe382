"""Sentences of recommendation copy: split, drop the ones a rule hit, keep their greeting.

Shared by ``too_granular`` (surveillance copy) and coherent rewrites (copy naming a dropped
item). Dropping a sentence that opens with a greeting ("Dear Ana, we noticed you ...") keeps
the greeting, in front of the first kept sentence ("Dear Ana, our new collection is in.").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TypeVar

# Sentence boundaries: whitespace after . ! ? (optionally closed by a quote or bracket), except
# after a.m., p.m., e.g. and i.e.; or a line break with the whitespace around it.
_BOUNDARY = re.compile(
    r"(?:(?<=[.!?])|(?<=[.!?][\"')\]’”]))(?<!\b[ap]\.m\.)(?<!\b[ei]\.[ge]\.)\s+|\s*\n\s*",
    re.IGNORECASE,
)
_NEVER = re.compile(r"(?!)")

K = TypeVar("K")


def alternation(words: Iterable[str]) -> str:
    """Literal words or phrases (internal whitespace flexible), longest first."""
    phrases = {" ".join(w.split()) for w in words if w.strip()}
    ordered = sorted(phrases, key=lambda w: (-len(w), w))
    return "|".join(r"\s+".join(re.escape(part) for part in w.split()) for w in ordered)


def greeting_pattern(greeting_words: Iterable[str]) -> re.Pattern[str]:
    """A greeting opening a sentence: a greeting word, at most a short name slot (a name, a
    merge tag, nothing), then a comma or colon: ``Dear Ana,``, ``Hi,``, ``Dear [First Name],``."""
    words = alternation(greeting_words)
    if not words:
        return _NEVER
    return re.compile(rf"\s*(?i:{words})(?!\w)[^,:;!?\n]{{0,40}}?[ \t]*[,:]")


def sentences(text: str) -> list[tuple[int, int, str]]:
    """(start, end, separator that follows) for each non-blank sentence of ``text``."""
    out: list[tuple[int, int, str]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.start() > start:
            out.append((start, m.start(), m.group()))
        elif out:  # two boundaries in a row: the separator holds both
            out[-1] = (out[-1][0], out[-1][1], out[-1][2] + m.group())
        start = m.end()
    if start < len(text):
        out.append((start, len(text), ""))
    return out


def joint(separators: Iterable[str]) -> str:
    """The separator between two kept sentences: a blank line, a line break, or one space."""
    newlines = max((s.count("\n") for s in separators), default=0)
    return "\n\n" if newlines >= 2 else "\n" if newlines == 1 else " "


def _greeting(
    text: str, start: int, end: int, hits: Sequence[tuple[int, int, K]], greeting: re.Pattern[str]
) -> str | None:
    """The greeting opening the sentence ``text[start:end]``, unless a hit lies inside it."""
    m = greeting.match(text, start, end)
    if m is None or m.end() >= end:
        return None
    for s, e, _ in hits:
        if s < m.end() and e > start:
            return None
    return text[start : m.end()].strip()


def drop_sentences(
    text: str, hits: Sequence[tuple[int, int, K]], greeting: re.Pattern[str] = _NEVER
) -> tuple[str | None, list[K]]:
    """``text`` without the sentences a hit (start, end, kind) lies in, and the kinds of the
    dropped ones, in text order. None when no sentence is left. The first dropped sentence's
    greeting goes in front of the first kept sentence (unless that one opens with its own)."""
    kept: list[str] = []
    joints: list[str] = []
    pending: list[str] = []  # separators since the last kept sentence
    kinds: list[K] = []
    kept_greeting: str | None = None
    first_kept_greets = False
    for start, end, separator in sentences(text):
        kind: K | None = None
        for s, e, k in hits:
            if s < end and e > start:
                kind = k
                break
        if kind is None:
            if kept:
                joints.append(joint(pending))
            else:
                first_kept_greets = greeting.match(text, start, end) is not None
            kept.append(text[start:end].strip())
            pending = [separator]
        else:
            kinds.append(kind)
            pending.append(separator)
            if kept_greeting is None:
                kept_greeting = _greeting(text, start, end, hits, greeting)
    if not kept:
        return None, kinds
    out = kept[0]
    if kept_greeting is not None and not first_kept_greets:
        out = kept_greeting + " " + out
    for sep, sentence in zip(joints, kept[1:], strict=True):
        out += sep + sentence
    return out, kinds
