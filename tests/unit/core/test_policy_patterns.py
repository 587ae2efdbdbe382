"""A policy regex cannot stall ``decide``: a pattern that could backtrack catastrophically runs
on RE2 (linear time), or is refused with a one-line error when RE2 cannot run it either; the
default patterns keep Python's engine (their look-arounds) because their shape is safe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from factories import policy_with, rec, run
from guardrail.core.patterns import backtracking_risk, compile_policy_pattern
from guardrail.core.policy import PolicyError, default_policy, load_policy

EVIL = r"(a+)+$"
BODY = "a" * 34 + "!"  # 35 characters: about 2**34 steps for a backtracking engine


@pytest.mark.timeout(60)  # a stall guard only: the stalled version ran for hours
def test_a_catastrophic_surveillance_pattern_does_not_stall_decide() -> None:
    policy = policy_with({"rules": {"too_granular": {"surveillance_patterns": [EVIL]}}})
    decision = run([rec(body=BODY, title=None)], policy).last
    assert decision.action == "deliver"  # no match: the body ends in "!"
    matched = run([rec(body="a" * 34, title=None)], policy).last
    assert matched.action == "suppress"  # the only sentence names "surveillance": dropped
    assert [r.code for r in matched.reasons] == ["too_granular"]


@pytest.mark.timeout(60)
def test_a_catastrophic_merge_tag_pattern_does_not_stall_decide() -> None:
    policy = policy_with({"rules": {"unresolved_placeholder": {"merge_tag_patterns": [EVIL]}}})
    assert run([rec(body=BODY, title=None)], policy).last.action == "deliver"
    assert run([rec(body="a" * 34, title=None)], policy).last.action == "suppress"


@pytest.mark.parametrize(
    "pattern",
    [r"(a+)+(?=b)", r"(?<!x)(\w|ab)*c", r"(a)\1+", r"(?:\s*,)*(?!z)"],
    ids=["nested repeat with a look-ahead", "repeated alternation with a look-behind",
         "backreference", "repeat in a repeat with a negative look-ahead"],
)  # fmt: skip
def test_a_risky_pattern_re2_cannot_run_is_refused_with_one_clear_line(
    pattern: str, tmp_path: Path
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "rules:\n  too_granular:\n    surveillance_patterns:\n      - '" + pattern + "'\n"
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    # the policy error's usual form: one line per problem, naming the key and the pattern
    problems = [line for line in str(caught.value).splitlines() if "backtrack" in line]
    assert len(problems) == 1
    assert "too_granular.surveillance_patterns" in problems[0] and repr(pattern) in problems[0]


def test_the_default_patterns_have_safe_shapes_and_stay_on_pythons_engine() -> None:
    rules = default_policy().rules
    patterns = [*rules.unresolved_placeholder.merge_tag_patterns]
    patterns += rules.too_granular.surveillance_patterns
    for pattern in patterns:
        assert backtracking_risk(pattern) is None, pattern
        assert isinstance(compile_policy_pattern(pattern), re.Pattern)


@pytest.mark.parametrize(
    ("pattern", "risky"),
    [(r"(a+)+$", True), (r"(a|ab)*c", True), (r"(?:x\s+){0,3}", True), (r"(a)\1", True),
     (r"a+b+c", False), (r"(?:ab){2}c", False), (r"(?>a+)+", False), (r"(?:just\s+)?", False),
     (r"[\w\d]*x", False)],
)  # fmt: skip
def test_risky_shapes_are_recognised(pattern: str, risky: bool) -> None:
    assert (backtracking_risk(pattern) is not None) == risky


def test_re2_gives_the_same_matches_on_a_pattern_it_takes_over() -> None:
    pattern = r"(?i:(?:ab|a)+)c"
    linear = compile_policy_pattern(pattern)
    assert not isinstance(linear, re.Pattern)
    text = "xx ABABc aac éabc"
    assert [m.span() for m in linear.finditer(text)] == [
        m.span() for m in re.finditer(pattern, text)
    ]
