"""The reason table is the one list of codes: policy sections, rules, families derive from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.core import engine
from guardrail.core import policy as policy_module
from guardrail.core.policy import Rules, default_policy, policy_from_mapping
from guardrail.core.reasons import FAMILIES, REASON_CODES, REASONS, family
from guardrail.core.rules import consent, intrusive, mistaken, repetitive
from guardrail.errors import PolicyError

MODULES = {
    "repetitive": repetitive,
    "mistaken": mistaken,
    "intrusive": intrusive,
    "consent": consent,
}


def test_the_contract_codes_in_the_contract_order() -> None:
    assert REASON_CODES == (
        "already_purchased",
        "duplicate_recommendation",
        "frequency_cap",
        "unresolved_placeholder",
        "gift_purchase_signal",
        "undeclared_life_event",
        "sensitive_category",
        "location_trigger",
        "third_party_data",
        "too_granular",
        "too_soon",
        "quiet_hours",
        "expired",
        "personalization_opt_out",
        "channel_opt_out",
        "erased",
    )
    assert family("expired") == "mistaken"
    assert family("nope") == "other"


def test_each_family_module_holds_exactly_its_codes_rules() -> None:
    for name in FAMILIES:
        module = MODULES[name]
        public = {
            fn
            for fn, obj in vars(module).items()
            if not fn.startswith("_")
            and callable(obj)
            and getattr(obj, "__module__", "") == module.__name__
        }
        assert public == {r.code for r in REASONS if r.family == name}, name


def test_the_engine_runs_the_tables_rules_in_its_order() -> None:
    assert [code for code, _ in engine.RULES] == list(REASON_CODES)
    for code, rule in engine.RULES:
        assert rule.__name__ == code


def test_the_policy_has_one_section_per_code_with_the_tables_mode() -> None:
    assert tuple(Rules.model_fields) == REASON_CODES
    policy = default_policy()
    assert {c: policy.rules.mode(c) for c in REASON_CODES} == {r.code: r.mode for r in REASONS}


def test_a_rule_without_settings_may_be_left_out_or_given_a_mode() -> None:
    policy = policy_from_mapping({"rules": {"expired": {"mode": "shadow"}}})
    assert policy.rules.mode("expired") == "shadow"
    with pytest.raises(PolicyError, match=r"rules\.expired\.window: unknown key"):
        policy_from_mapping({"rules": {"expired": {"window": 3}}})


def test_an_unknown_code_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(PolicyError, match=r"unknown reason code .*expired"):
        policy_from_mapping({"rules": {"expiry": {"mode": "off"}}})


def test_rules_do_not_spell_their_own_code() -> None:
    rules = Path(policy_module.__file__).parent / "rules"  # policy.py is never compiled
    for module in MODULES:
        source = (rules / f"{module}.py").read_text(encoding="utf-8")
        for code in REASON_CODES:
            assert f'Finding("{code}"' not in source
