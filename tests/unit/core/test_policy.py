"""The policy: the default equals the contract, partial files merge over it, bad files are
refused with file, key and problem, and the version hash is stable."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.core.policy import (
    default_policy,
    load_policy,
    policy_from_mapping,
)
from guardrail.core.reasons import REASON_CODES
from guardrail.errors import PolicyError

# --- the default policy equals the contract --------------------------------------------------

DEFAULTS = [
    ("rules.already_purchased.sku_window_days", 30),
    ("rules.already_purchased.durable_window_days", 365),
    (
        "rules.already_purchased.durable_categories",
        (
            "electronics/laptops",
            "electronics/tv",
            "furniture",
            "appliances",
            "home/toilet-seats",
            "automotive/tires",
        ),
    ),
    (
        "rules.already_purchased.consumable_intervals_days",
        {"grocery/coffee": 30, "pet/food": 30, "household/detergent": 45},
    ),
    ("rules.duplicate_recommendation.max_deliveries", 2),
    ("rules.duplicate_recommendation.window_days", 7),
    ("rules.frequency_cap.window_hours", 24),
    ("rules.frequency_cap.max_total", 3),
    ("rules.frequency_cap.max_per_channel", {"push": 1, "sms": 1}),
    ("rules.unresolved_placeholder.neutral_greeting", "Hello,"),
    (
        "rules.sensitive_category.groups",
        {
            "health": ("health", "pharmacy"),
            "reproductive": (
                "baby/pregnancy",
                "health/fertility",
                "health/contraception",
                "baby/formula",
                "apparel/maternity",
            ),
            "sexuality": ("adult",),
            "religion": ("religion",),
            "politics": ("politics",),
            "financial_hardship": ("finance/debt", "finance/payday-loans", "finance/bankruptcy"),
        },
    ),
    ("rules.too_soon.triggers", ("browse", "cart")),
    ("rules.too_soon.min_delay_minutes", 30),
    ("rules.quiet_hours.channels", ("push", "sms")),
    ("rules.quiet_hours.start", "21:00"),
    ("rules.quiet_hours.end", "08:00"),
    ("rules.quiet_hours.default_timezone", "UTC"),
    ("consent_defaults.personalization", True),
    ("consent_defaults.location_marketing", False),
    ("consent_defaults.third_party_data", False),
    ("consent_defaults.sensitive_categories", ()),
]


def setting(policy: object, dotted: str) -> object:
    value = policy
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize(("key", "expected"), DEFAULTS, ids=[k for k, _ in DEFAULTS])
def test_default_policy_equals_the_contract(key: str, expected: object) -> None:
    assert setting(default_policy(), key) == expected


def test_every_reason_code_is_enforced_by_default() -> None:
    policy = default_policy()
    assert {code: policy.rules.mode(code) for code in REASON_CODES} == dict.fromkeys(
        REASON_CODES, "enforce"
    )


def test_null_names_and_greetings_cover_the_contract() -> None:
    cfg = default_policy().rules.unresolved_placeholder
    assert {"null", "None", "undefined", "N/A"} <= set(cfg.null_names)
    assert {"hi", "hello", "dear"} <= {w.lower() for w in cfg.greeting_words}


# --- a policy file only needs the keys it changes --------------------------------------------


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_policy_file_only_needs_the_keys_it_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  frequency_cap:\n    max_total: 5\n")
    policy = load_policy(path)
    assert policy.rules.frequency_cap.max_total == 5
    assert policy.rules.frequency_cap.max_per_channel == {"push": 1, "sms": 1}
    assert policy.rules.already_purchased == default_policy().rules.already_purchased


def test_an_empty_policy_file_is_the_default(tmp_path: Path) -> None:
    assert load_policy(write(tmp_path, "")).version == default_policy().version


def test_a_list_in_a_policy_file_replaces_the_default_list(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  quiet_hours:\n    channels: [push]\n")
    assert load_policy(path).rules.quiet_hours.channels == ("push",)


# --- bad policies are refused with file, key and problem -------------------------------------

BAD = [
    pytest.param(
        "rules:\n  frequency_cap:\n    max_totl: 5\n",
        "rules.frequency_cap.max_totl",
        "unknown key",
        id="unknown key",
    ),
    pytest.param(
        "rules:\n  frequency_cap:\n    max_total: lots\n",
        "rules.frequency_cap.max_total",
        "integer",
        id="wrong type",
    ),
    pytest.param(
        "rules:\n  too_granular:\n    surveillance_patterns: ['(unclosed']\n",
        "rules.too_granular.surveillance_patterns",
        "regular expression",
        id="bad regex",
    ),
    pytest.param(
        "rules:\n  too_lovely:\n    mode: enforce\n",
        "rules.too_lovely",
        "unknown reason code",
        id="unknown reason code",
    ),
    pytest.param(
        "rules:\n  quiet_hours:\n    mode: loud\n",
        "rules.quiet_hours.mode",
        "enforce",
        id="bad mode",
    ),
    pytest.param(
        "rules:\n  quiet_hours:\n    default_timezone: Mars/Olympus\n",
        "rules.quiet_hours.default_timezone",
        "timezone",
        id="bad timezone",
    ),
    pytest.param(
        "rules:\n  quiet_hours:\n    default_timezone: America\n",
        "rules.quiet_hours.default_timezone",
        "timezone",
        id="a folder of the zone database, not a zone",
    ),
    pytest.param(
        "rules:\n  quiet_hours:\n    start: '25:00'\n",
        "rules.quiet_hours.start",
        "HH:MM",
        id="bad clock time",
    ),
    pytest.param("rules: [frequency_cap\n", "", "not valid YAML", id="not YAML"),
    pytest.param("- just\n- a list\n", "", "mapping", id="not a mapping"),
]


@pytest.mark.parametrize(("text", "key", "problem"), BAD)
def test_bad_policy_is_refused_with_file_key_and_problem(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as refused:
        load_policy(path)
    message = str(refused.value)
    assert str(path) in message
    assert key in message
    assert problem in message


def test_missing_policy_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(PolicyError, match="cannot read") as refused:
        load_policy(path)
    assert str(path) in str(refused.value)


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  frequency_cap:\n    max_total: x\n    mode: loud\n")
    with pytest.raises(PolicyError) as refused:
        load_policy(path)
    assert "2 problem(s)" in str(refused.value)


# --- policy_version --------------------------------------------------------------------------


def test_policy_version_is_stable_across_loads(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  frequency_cap:\n    max_total: 5\n")
    assert load_policy(path).version == load_policy(path).version
    assert default_policy().version == load_policy(None).version
    assert len(default_policy().version) == 12


def test_policy_version_ignores_comments_and_key_order(tmp_path: Path) -> None:
    one = write(tmp_path, "rules:\n  frequency_cap: {max_total: 5, window_hours: 24}\n", "a.yaml")
    two = write(
        tmp_path,
        "# note\nrules:\n  frequency_cap:\n    window_hours: 24\n    max_total: 5\n",
        "b.yaml",
    )
    assert load_policy(one).version == load_policy(two).version


CHANGES = [
    {"rules": {"frequency_cap": {"max_total": 4}}},
    {"rules": {"quiet_hours": {"mode": "shadow"}}},
    {"rules": {"quiet_hours": {"default_timezone": "Europe/Berlin"}}},
    {"rules": {"already_purchased": {"durable_categories": ["furniture"]}}},
    {"rules": {"sensitive_category": {"groups": {"health": ["health"]}}}},
    {"rules": {"unresolved_placeholder": {"neutral_greeting": "Hi there,"}}},
    {"consent_defaults": {"location_marketing": True}},
    {"state": {"max_locations": 10}},
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: str(c))
def test_policy_version_changes_when_any_setting_changes(change: dict[str, object]) -> None:
    assert policy_from_mapping(change).version != default_policy().version


def test_the_default_policy_file_loaded_explicitly_is_the_default() -> None:
    from importlib import resources

    path = resources.files("guardrail.core").joinpath("default_policy.yaml")
    assert load_policy(str(path)).version == default_policy().version
