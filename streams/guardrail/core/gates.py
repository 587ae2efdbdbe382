"""Literal gates: a cheap substring pre-check before a policy pattern's regex scan.

A gate is the few literals every match of a pattern must contain, derived from the pattern's
parse tree (``re``'s own parser); text that lacks them is not scanned. Gates err on the safe
side: whatever they cannot follow adds no condition, so an empty gate means "always scan".
Text is compared in its :func:`fold`, which keeps every index.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from typing import Any, Final

# Case folding that keeps every index and that re.IGNORECASE never sees past: the non-ASCII
# letters equal to an ASCII letter under IGNORECASE fold to it (and "İ".lower() is 2 chars).
_FOLD: Final = str.maketrans({"İ": "i", "ı": "i", "ſ": "s"})

Gate = tuple[frozenset[str], ...]


def fold(text: str) -> str:
    """``text`` lower-cased the way ``re.IGNORECASE`` compares it, index for index."""
    return text.lower() if text.isascii() else text.translate(_FOLD).lower()


def passes(gate: Gate, folded: str) -> bool:
    """Whether ``folded`` (a :func:`fold`) holds a literal of every group of ``gate``."""
    for group in gate:  # plain loops: a generator per call would cost more than the scan
        for literal in group:
            if literal in folded:
                break
        else:
            return False
    return True


def gates_checker(gates: Sequence[Gate]) -> Callable[[str], tuple[bool, ...]]:
    """One function testing every gate at once: ``("you" in t) and ("saw" in t or ...)``.

    Generated once per policy (as ``namedtuple`` does): the substring tests run as plain
    expressions, without the per-literal loop of :func:`passes`. The literals enter the
    source only through ``repr``, so any text is safe in them.
    """
    terms = []
    for gate in gates:
        groups = [" or ".join(f"{lit!r} in t" for lit in sorted(group)) for group in gate]
        terms.append(" and ".join(f"({g})" for g in groups) if groups else "True")
    body = f"({', '.join(terms)},)" if terms else "()"
    checker: Callable[[str], tuple[bool, ...]] = eval(  # built from repr'd literals only
        f"lambda t: {body}", {"__builtins__": {}}
    )
    return checker


def gate(pattern: str) -> Gate:
    """Literals every match of ``pattern`` must contain, for a cheap substring pre-check.

    The result is a few groups of lower-case ASCII strings: a match holds one string of each
    group (case-insensitively). It is derived from the parse tree of ``re`` and errs on the
    safe side: whatever it cannot follow adds no condition, so an empty gate means "always
    run the pattern". Saves most regex scans on copy with nothing suspicious.
    """
    try:
        parser = importlib.import_module("re._parser")
        consts = importlib.import_module("re._constants")
        tree = parser.parse(pattern, re.IGNORECASE)
        groups = _required(tree.data, consts)
    except Exception:  # a private module that moved: no gate, only slower
        return ()
    return tuple(sorted(set(groups), key=_strength, reverse=True)[:4])


def _strength(group: frozenset[str]) -> tuple[int, int]:
    return (min(len(s) for s in group), -len(group))


def _required(seq: Any, c: Any) -> list[frozenset[str]]:
    out: list[frozenset[str]] = []
    run: list[str] = []
    repeats = {getattr(c, name, None) for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")}
    for op, av in seq:
        if op is c.LITERAL and av < 128:
            run.append(chr(av).lower())
            continue
        if run:
            out.append(frozenset({"".join(run)}))
            run = []
        if op is c.SUBPATTERN:
            out += _required(av[3], c)
        elif op is c.ATOMIC_GROUP:
            out += _required(av, c)
        elif op in repeats and av[0] >= 1:
            out += _required(av[2], c)
        elif op is c.BRANCH:
            union: set[str] = set()
            for alternative in av[1]:
                found = _required(alternative, c)
                if not found:
                    union = set()
                    break
                best: frozenset[str] = max(found, key=_strength)
                union |= best
            if union:
                out.append(frozenset(union))
        elif op is c.IN:
            chars = _charset(av, c)
            if chars:
                out.append(chars)
    if run:
        out.append(frozenset({"".join(run)}))
    return out


def _charset(items: Any, c: Any) -> frozenset[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is c.LITERAL and av < 128:
            chars.add(chr(av).lower())
        elif op is c.RANGE and av[1] < 128 and av[1] - av[0] < 16:
            chars.update(chr(code).lower() for code in range(av[0], av[1] + 1))
        else:  # NEGATE, a category (\d is Unicode), a wide or non-ASCII range
            return None
    return frozenset(chars) if 0 < len(chars) <= 16 else None
