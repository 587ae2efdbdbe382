"""Policy regexes that cannot stall ``decide``: catastrophic backtracking is refused or avoided.

A policy pattern runs on Python's ``re`` (fast, and it has the look-arounds the default
patterns use) only when its shape cannot backtrack exponentially: no quantifier that may
repeat more than once (``*``, ``+``, ``{2,}``) over a sub-pattern that itself holds such a
quantifier or an alternation (``(a+)+``, ``(\\w|\\d)*``), and no backreference. A pattern of a
risky shape runs on RE2 (google-re2, linear time in the length of the text) when RE2 can
compile it, and is refused otherwise (it needs look-arounds or backreferences, which RE2 does
not have). ``(a+)+$`` on a body of 35 ``a`` and a ``!`` so takes microseconds, not minutes.

Possessive quantifiers and atomic groups never backtrack into themselves and are allowed.
"""

from __future__ import annotations

import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Final

import re2

_REPEATS: Final = {sre.MAX_REPEAT, sre.MIN_REPEAT}
_MAXREPEAT: Final = sre.MAXREPEAT


class UnsafePattern(ValueError):
    """A pattern that can backtrack catastrophically and that RE2 cannot run either."""


def backtracking_risk(pattern: str) -> str | None:
    """Why ``pattern`` may backtrack exponentially on ``re``, or None for a safe shape."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return None  # not ours to judge: compiling reports the syntax error
    return _risk(parsed, inside_repeat=False)


def _risk(items: Any, inside_repeat: bool) -> str | None:
    for op, av in items:
        found: str | None = None
        if op in _REPEATS:
            _low, high, body = av
            repeats = high == _MAXREPEAT or high > 1
            if repeats and inside_repeat:
                return "a repeated sub-pattern inside a repeated sub-pattern (as in (a+)+)"
            found = _risk(body, inside_repeat or repeats)
        elif op is sre.BRANCH:
            if inside_repeat:
                return "an alternation inside a repeated sub-pattern (as in (a|ab)*)"
            for branch in av[1]:
                found = found or _risk(branch, inside_repeat)
        elif op is sre.SUBPATTERN:
            found = _risk(av[3], inside_repeat)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            found = _risk(av[1], inside_repeat)
        elif op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
            return "a backreference"
        if found is not None:
            return found
    return None


def _re2_options(ignore_case: bool) -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported by us, in one line
    options.case_sensitive = not ignore_case
    return options


def _re2_syntax(pattern: str) -> str:
    # RE2 has no regex comments (the clock-time mark) and spells Python's \Z as \z.
    return re.sub(r"\(\?#[^)]*\)", "", pattern).replace(r"\Z", r"\z")


def compile_policy_pattern(pattern: str, ignore_case: bool = False) -> Any:
    """A compiled pattern (``re`` or RE2, same match/search/finditer API) that cannot stall.

    Raises :class:`UnsafePattern` for a risky shape RE2 cannot run, ``re.error`` for bad syntax.
    """
    risk = backtracking_risk(pattern)
    if risk is None:
        return re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    re.compile(pattern)  # the syntax error of a broken pattern, as for every other pattern
    try:
        return re2.compile(_re2_syntax(pattern), _re2_options(ignore_case))
    except re2.error:
        raise UnsafePattern(
            f"can backtrack catastrophically ({risk}) and needs a feature the linear-time "
            "engine lacks (look-around or backreference): rewrite it"
        ) from None


def is_backtracking_engine(compiled: Any) -> bool:
    """True for a ``re`` pattern (which allows combining it with others into one scan)."""
    return isinstance(compiled, re.Pattern)
