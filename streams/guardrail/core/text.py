"""Merge-tag and surveillance-detail detection and rewriting for recommendation copy.

Pure functions over strings (stdlib ``re`` only). Two matchers, each built once per policy
section and then called for every title and body:

- :class:`PlaceholderMatcher` (rule ``unresolved_placeholder``) finds merge tags left unfilled.
  An unfilled *greeting* at the start of the text ("Dear [First Name],", "Hi ,", "Hey N/A!")
  is repaired: the customer's first name goes in, or else the whole greeting becomes the
  policy's neutral greeting. A merge tag anywhere else is reported, and the engine suppresses.
- :class:`SurveillanceMatcher` (rule ``too_granular``) drops every sentence that names
  surveillance detail: a phrase of ``surveillance_patterns``, a clock time, one of the
  customer's recent place names or one of their own search queries. Each dropped sentence
  is reported by a kind label only, never by the text it matched.

Pattern labels: a surveillance pattern that starts with the regex comment ``(?#clock_time)``
is a clock-time pattern (label ``clock_time``); every other one is a ``surveillance_phrase``.
A regex comment is ignored by the matcher, so the label lives in the policy YAML next to the
pattern and survives any reordering.

Speed: every policy pattern is compiled once per matcher, into one alternation when that is
safe (no capturing groups in any pattern), else one by one. Text with no hit is returned as
it came after a single regex scan. Customer terms are first looked up as plain substrings of
the lower-cased text; a regex is built only for the few terms whose first word is present.
Policy patterns are scanned only in text that holds their literals (``core.gates``).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal, TypeVar

from guardrail.core.gates import Gate, fold, gate, gates_checker, passes
from guardrail.core.patterns import compile_policy_pattern, is_backtracking_engine
from guardrail.core.policy import TooGranular, UnresolvedPlaceholder
from guardrail.core.sentences import alternation, drop_sentences, greeting_pattern

DropKind = Literal["surveillance_phrase", "clock_time", "place_name", "search_query"]

CLOCK_TIME_MARK: Final = "(?#clock_time)"
"""Prefix that marks a ``too_granular.surveillance_patterns`` entry as a clock-time pattern."""


@dataclass(frozen=True, slots=True)
class PlaceholderResult:
    text: str
    """The text with an unfilled greeting repaired; otherwise exactly the input."""
    greeting_fixed: bool
    """An unfilled greeting was found and repaired."""
    unresolved: tuple[str, ...]
    """Unfilled merge tags outside the greeting, in order of appearance, without repeats."""


@dataclass(frozen=True, slots=True)
class ScrubResult:
    text: str | None
    """The text without its offending sentences; None when no sentence is left."""
    dropped: tuple[DropKind, ...]
    """One kind label per dropped sentence, in text order."""


class _TagScanner:
    """Finds the matches of several patterns, in one pass when the patterns allow it.

    The patterns are joined into one alternation of non-capturing groups when none of them
    has a group of its own (so no backreference can shift); ``re`` then scans for the set of
    first characters ("[", "{", "$", ...), which is several times faster than one by one.
    A pattern that starts with a character past Latin-1 (a full-width bracket) would turn
    that fast first-character scan off for all of them: it is kept apart and run only on text
    that holds its first character.
    """

    __slots__ = ("_combined", "_gates", "_single", "_wide")

    def __init__(self, patterns: Sequence[str], flags: int = 0) -> None:
        # re, or RE2 for a pattern that could backtrack catastrophically (core.patterns)
        ignore_case = bool(flags & re.IGNORECASE)
        gates = [gate(p) for p in patterns]
        # None: some pattern has no gate, so every text must be scanned.
        self._gates: tuple[Gate, ...] | None = None if () in gates else tuple(gates)
        self._wide: list[tuple[str, Any]] = []
        narrow: list[str] = []
        for p in patterns:
            lead = _wide_lead(p, ignore_case)
            if lead is None:
                narrow.append(p)
            else:
                self._wide.append((lead, compile_policy_pattern(p, ignore_case)))
        compiled: list[Any] = [compile_policy_pattern(p, ignore_case) for p in narrow]
        self._combined: re.Pattern[str] | None = None
        self._single: list[Any] = []
        if compiled and all(is_backtracking_engine(c) and c.groups == 0 for c in compiled):
            try:
                self._combined = re.compile("|".join(f"(?:{p})" for p in narrow), flags)
                return
            except re.error:  # e.g. a global inline flag, legal only at the very start
                pass
        self._single = compiled

    def _scanners(self, text: str) -> list[Any]:
        found: list[Any] = [self._combined] if self._combined is not None else list(self._single)
        for lead, p in self._wide:
            if lead in text:
                found.append(p)
        return found

    def match_end(self, text: str, pos: int) -> int:
        """End of the longest non-empty match starting exactly at ``pos``, or -1."""
        best = -1
        for p in self._scanners(text):
            m = p.match(text, pos)
            if m is not None and m.end() > pos:
                best = max(best, m.end())
        return best

    def search_any(self, text: str) -> bool | None:
        """Whether any pattern matches anywhere; None when that takes more than one scan."""
        if self._combined is None:
            return None
        if self._combined.search(text) is not None:
            return True
        return any(lead in text and p.search(text) is not None for lead, p in self._wide)

    @property
    def scans_once(self) -> bool:
        """True when one combined regex scans for every pattern (then no gate is faster)."""
        return self._combined is not None

    def may_match(self, folded: str) -> bool:
        """False when no pattern can match the text whose :func:`_fold` is ``folded``."""
        return self._gates is None or any(passes(g, folded) for g in self._gates)

    def finditer(self, text: str, pos: int = 0) -> list[tuple[int, int]]:
        """Non-overlapping non-empty matches as (start, end), leftmost (then longest) first."""
        scanners = self._scanners(text)
        if self._combined is not None and len(scanners) == 1:
            return [m.span() for m in self._combined.finditer(text, pos) if m.end() > m.start()]
        found = sorted(
            (m.start(), -m.end())
            for p in scanners
            for m in p.finditer(text, pos)
            if m.end() > m.start()
        )
        hits: list[tuple[int, int]] = []
        for start, neg_end in found:
            if not hits or start >= hits[-1][1]:
                hits.append((start, -neg_end))
        return hits


def _wide_lead(pattern: str, ignore_case: bool) -> str | None:
    """The first character of every match of ``pattern`` when it is past Latin-1, else None."""
    try:
        parser = importlib.import_module("re._parser")
        consts = importlib.import_module("re._constants")
        tree = parser.parse(pattern, re.IGNORECASE if ignore_case else 0)
    except Exception:  # a bad pattern (reported by compiling) or a private module that moved
        return None
    items = list(tree.data)
    if not items or items[0][0] is not consts.LITERAL or items[0][1] <= 0xFF:
        return None
    lead = chr(items[0][1])
    return None if ignore_case and lead.lower() != lead.upper() else lead


@lru_cache(maxsize=4096)
def _terms_regex(groups: tuple[tuple[str, tuple[str, ...]], ...]) -> re.Pattern[str]:
    """One regex for a customer's place names and queries; customers repeat, so cached."""
    alternatives = "|".join(f"(?P<{kind}>{alternation(phrases)})" for kind, phrases in groups)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


# After the greeting word: optional comma between it and the name slot ("Hi, {{name}}!").
_SEPARATOR = re.compile(r"[ \t]*(?:,[ \t]*)?")
# After a merge tag in the greeting: optional punctuation.
_TAG_TRAIL = re.compile(r"[ \t]*([,!.:]+)")
# After a null name, or after nothing: punctuation or the end of the first line is required,
# and "nothing" needs whitespace first ("Hi ,"): "Hi," and "Hello!" are complete greetings.
_NULL_TRAIL = re.compile(r"[ \t]*([,!.:]+)|[ \t]*(?=\r?\n|\Z)")
_EMPTY_TRAIL = re.compile(r"[ \t]+([,!.:]+)|[ \t]+(?=\r?\n|\Z)")
_NEVER = re.compile(r"(?!)")


class PlaceholderMatcher:
    """Unfilled merge tags: repair the greeting, report every other tag."""

    __slots__ = (
        "_by_name",
        "_by_text",
        "_greeting",
        "_maybe_unfilled",
        "_neutral",
        "_null_names",
        "_tags",
    )

    def __init__(self, cfg: UnresolvedPlaceholder) -> None:
        # Results memoized (copy repeats: titles across customers, bodies per customer).
        # Text without a greeting does not depend on the name; the rest is keyed by both.
        self._by_text: dict[str, PlaceholderResult] = {}
        self._by_name: dict[tuple[str, str], PlaceholderResult] = {}
        self._tags = _TagScanner(cfg.merge_tag_patterns)
        words = alternation(cfg.greeting_words)
        nulls = alternation(cfg.null_names)
        self._greeting = re.compile(rf"(?P<lead>\s*)(?i:{words})(?!\w)") if words else _NEVER
        # (not "_null": compiled by mypyc, that becomes "__null", a keyword of the C compiler)
        self._null_names = re.compile(rf"(?i:{nulls})(?!\w)") if nulls else _NEVER
        self._neutral = cfg.neutral_greeting
        # A superset of the greetings _repair_greeting can repair, less those with a merge tag
        # (found by the tag scan): a null name, or nothing before punctuation or line end.
        null_slot = rf"[ \t]*(?:,[ \t]*)?(?i:{nulls})(?!\w)|" if nulls else ""
        self._maybe_unfilled = (
            re.compile(rf"\s*(?i:{words})(?!\w)(?:{null_slot}[ \t]+[,!.:]|[ \t]*(?:\r?\n|\Z))")
            if words
            else _NEVER
        )

    def is_clean(self, text: str) -> bool:
        """True when ``check`` would find nothing: no merge tag, no unfilled greeting.

        Two regex scans instead of the full check, for the common case of clean copy (most
        bodies are unique, so the memo does not help them).
        """
        tags = self._tags.search_any(text)
        return tags is False and self._maybe_unfilled.match(text) is None

    def check(self, text: str, first_name: str | None) -> PlaceholderResult:
        found = self._by_text.get(text)
        if found is not None:
            return found
        name = first_name.strip() if first_name else ""
        if self._greeting.match(text) is None:
            found = PlaceholderResult(text, False, self._unresolved(text, 0))
            _remember(self._by_text, text, found)
            return found
        key = (text, name)
        found = self._by_name.get(key)
        if found is None:
            found = self._check(text, name)
            _remember(self._by_name, key, found)
        return found

    def _check(self, text: str, name: str) -> PlaceholderResult:
        repaired = self._repair_greeting(text, name)
        if repaired is None:
            return PlaceholderResult(text, False, self._unresolved(text, 0))
        new_text, rest = repaired
        return PlaceholderResult(new_text, True, self._unresolved(new_text, rest))

    def _unresolved(self, text: str, pos: int) -> tuple[str, ...]:
        if not self._tags.scans_once and not self._tags.may_match(fold(text[pos:])):
            return ()
        hits = self._tags.finditer(text, pos)
        return tuple(dict.fromkeys(text[start:end] for start, end in hits))

    def _repair_greeting(self, text: str, name: str) -> tuple[str, int] | None:
        """The repaired text and where its rest starts, or None for no unfilled greeting."""
        greet = self._greeting.match(text)
        if greet is None:
            return None
        after_word = greet.end()
        slot = _SEPARATOR.match(text, after_word)
        slot_start = slot.end() if slot is not None else after_word
        joint = ", " if "," in text[after_word:slot_start] else " "
        tag_end = self._tags.match_end(text, slot_start)
        if tag_end >= 0:  # "Dear [First Name]," / "Hi, {{first_name}}!" / "Hi {{name}} there"
            trail = _TAG_TRAIL.match(text, tag_end)
            punct, end = (trail.group(1), trail.end()) if trail is not None else ("", tag_end)
        else:
            null = self._null_names.match(text, slot_start)
            if null is not None:  # "Hi null," / "Hey N/A!"
                if null.group().casefold() == name.casefold():
                    return None  # "Hi Nan," to a customer called Nan: a real name
                trail = _NULL_TRAIL.match(text, null.end())
            else:  # "Hi ," / "Dear !"
                trail = _EMPTY_TRAIL.match(text, after_word)
                joint = " "
            if trail is None:
                return None
            punct, end = trail.group(1) or "", trail.end()
        if name:
            head = text[:after_word] + joint + name + punct
        else:
            head = greet.group("lead") + self._neutral
        return head + text[end:], len(head)


_TERM_KINDS: Final[dict[str, DropKind]] = {"place": "place_name", "query": "search_query"}


@lru_cache(maxsize=8192)
def _term(term: str) -> tuple[str, tuple[str, ...]]:
    """A customer term folded, with single spaces, and its words (cached: terms recur)."""
    words = tuple(fold(term).split())
    return " ".join(words), words


Hit = tuple[int, int, DropKind]

_K = TypeVar("_K")
_V = TypeVar("_V")
MEMO_SIZE: Final = 16_384
"""Entries per text memo; a full memo starts afresh (results never depend on its content)."""


def _remember(memo: dict[_K, _V], key: _K, value: _V) -> None:
    if len(memo) >= MEMO_SIZE:
        memo.clear()
    memo[key] = value


def _start(hit: Hit) -> int:
    return hit[0]


class SurveillanceMatcher:
    """Surveillance detail: drop each sentence that shows it, say only what kind it was."""

    __slots__ = ("_gates_pass", "_greeting", "_memo", "_min_len", "_patterns")

    def __init__(self, cfg: TooGranular, greeting_words: Sequence[str] = ()) -> None:
        self._patterns: tuple[tuple[Any, Gate, DropKind], ...] = tuple(
            (
                compile_policy_pattern(p, ignore_case=True),
                gate(p),
                "clock_time" if p.lstrip().startswith(CLOCK_TIME_MARK) else "surveillance_phrase",
            )
            for p in cfg.surveillance_patterns
        )
        self._gates_pass = gates_checker([g for _, g, _ in self._patterns])
        self._min_len = cfg.min_term_length
        # A dropped sentence's greeting stays ("Dear Ana, we noticed ..." keeps "Dear Ana,").
        self._greeting = greeting_pattern(greeting_words)
        # Per text: its folded form and the policy patterns' hits (sorted).
        self._memo: dict[str, tuple[str, list[Hit]]] = {}

    def _entry(self, text: str) -> tuple[str, list[Hit]]:
        entry = self._memo.get(text)
        if entry is None:
            folded = fold(text)
            entry = (folded, self._hits(text, folded, None))
            _remember(self._memo, text, entry)
        return entry

    def is_clean(self, text: str, places: Sequence[str], queries: Sequence[str]) -> bool:
        """True when ``scrub`` would drop nothing (without building its result)."""
        folded, pattern_hits = self._entry(text)
        if pattern_hits:
            return False
        return not (places or queries) or self._terms(folded, places, queries) is None

    def scrub(self, text: str, places: Iterable[str], queries: Iterable[str]) -> ScrubResult:
        folded, pattern_hits = self._entry(text)
        terms = self._terms(folded, places, queries) if places or queries else None
        if terms is None:
            if not pattern_hits:
                return ScrubResult(text, ())
            hits = list(pattern_hits)
        else:
            hits = pattern_hits + self._term_hits(folded, terms)
            hits.sort(key=_start)
            if not hits:
                return ScrubResult(text, ())
        dropped: list[DropKind] = []
        current: str | None = text
        # Dropping a sentence can join two kept ones into a new hit ("we noticed" + "you"):
        # go again until nothing is found. Every round drops at least one sentence.
        while current is not None and hits:
            scrubbed, kinds = drop_sentences(current, hits, self._greeting)
            if not kinds:  # a hit that lies in no sentence (only whitespace): nothing to drop
                break
            dropped.extend(kinds)
            current = scrubbed
            hits = self._hits(current, fold(current), terms) if current is not None else []
        return ScrubResult(current, tuple(dropped))

    def _terms(
        self, folded: str, places: Iterable[str], queries: Iterable[str]
    ) -> re.Pattern[str] | None:
        """A regex over the folded text for those terms whose first word occurs in it."""
        groups: list[tuple[str, tuple[str, ...]]] = []
        for kind, terms in (("place", places), ("query", queries)):
            present: list[str] = []
            for term in terms:
                phrase, words = _term(term) if term else ("", ())
                if len(phrase) < self._min_len:
                    continue
                for word in words:
                    if word not in folded:
                        break
                else:
                    present.append(phrase)
            if present:
                groups.append((kind, tuple(present)))
        if not groups:
            return None
        return _terms_regex(tuple(groups))

    def _hits(self, text: str, folded: str, terms: re.Pattern[str] | None) -> list[Hit]:
        hits: list[Hit] = []
        passing = self._gates_pass(folded)
        for (pattern, _, kind), ok in zip(self._patterns, passing, strict=True):
            if ok:
                hits.extend(
                    (m.start(), m.end(), kind)
                    for m in pattern.finditer(text)
                    if m.end() > m.start()
                )
        if terms is not None:
            hits += self._term_hits(folded, terms)
        hits.sort(key=_start)
        return hits

    @staticmethod
    def _term_hits(folded: str, terms: re.Pattern[str]) -> list[Hit]:
        return [
            (m.start(), m.end(), _TERM_KINDS[m.lastgroup or "query"])
            for m in terms.finditer(folded)
        ]
