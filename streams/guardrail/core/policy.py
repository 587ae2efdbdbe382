"""The guardrail policy: every number, list and pattern of the contract, as settings.

A policy is loaded from YAML (the default ships beside this module and equals the contract),
validated strictly (unknown keys, wrong types, bad regexes and unknown reason codes are refused
with the file, the key and the problem) and hashed into a stable ``version``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from guardrail.core.patterns import UnsafePattern, compile_policy_pattern
from guardrail.core.reasons import BY_CODE, HOLDOUT_ALLOWED, REASON_CODES, Mode
from guardrail.core.records import Channel, Consent, Trigger
from guardrail.core.validation import problems
from guardrail.core.zones import zone
from guardrail.errors import PolicyError

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000


def _check_patterns(patterns: list[str]) -> list[str]:
    for i, pattern in enumerate(patterns):
        try:
            compile_policy_pattern(pattern)
        except re.error as exc:
            raise ValueError(f"item {i}: bad regular expression {pattern!r}: {exc}") from exc
        except UnsafePattern as exc:
            raise ValueError(f"item {i}: regular expression {pattern!r} {exc}") from None
    return patterns


def _check_category(category: str) -> str:
    if not category or category.startswith("/") or category.endswith("/"):
        raise ValueError(f"bad category path {category!r} (expected a/b/c)")
    return category


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Rule(_Section):
    mode: Mode


class AlreadyPurchased(_Rule):
    sku_window_days: float = Field(gt=0)
    durable_window_days: float = Field(gt=0)
    durable_categories: tuple[str, ...]
    consumable_intervals_days: dict[str, float]

    @field_validator("durable_categories")
    @classmethod
    def _paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_category(c) for c in value)

    @field_validator("consumable_intervals_days")
    @classmethod
    def _intervals(cls, value: dict[str, float]) -> dict[str, float]:
        for category, days in value.items():
            _check_category(category)
            if days <= 0:
                raise ValueError(f"{category}: interval must be positive, got {days}")
        return value


class DuplicateRecommendation(_Rule):
    max_deliveries: int = Field(ge=1)
    window_days: float = Field(gt=0)


class FrequencyCap(_Rule):
    window_hours: float = Field(gt=0)
    max_total: int = Field(ge=0)
    max_per_channel: dict[Channel, int]
    # The last reserved_slots of max_total are kept for priority >= reserve_min_priority.
    reserved_slots: int = Field(ge=0)
    reserve_min_priority: int = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _reservation_fits(self) -> FrequencyCap:
        if self.reserved_slots > self.max_total:
            raise ValueError(
                f"reserved_slots ({self.reserved_slots}) exceeds max_total ({self.max_total})"
            )
        return self


class UnresolvedPlaceholder(_Rule):
    merge_tag_patterns: list[str]
    greeting_words: list[str]
    null_names: list[str]
    neutral_greeting: str

    _patterns = field_validator("merge_tag_patterns")(_check_patterns)


class SensitiveCategory(_Rule):
    groups: dict[str, tuple[str, ...]]

    @field_validator("groups")
    @classmethod
    def _paths(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for categories in value.values():
            for category in categories:
                _check_category(category)
        return value


class TooGranular(_Rule):
    surveillance_patterns: list[str]
    place_memory_hours: float = Field(ge=0)
    query_memory_days: float = Field(ge=0)
    min_term_length: int = Field(ge=1)

    _patterns = field_validator("surveillance_patterns")(_check_patterns)


class TooSoon(_Rule):
    triggers: tuple[Trigger, ...]
    min_delay_minutes: float = Field(ge=0)


class QuietHours(_Rule):
    channels: tuple[Channel, ...]
    start: str
    end: str
    default_timezone: str

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not re.fullmatch(r"(?:[01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"expected a clock time HH:MM, got {value!r}")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)  # ValueError when unknown
        return value

    @property
    def start_minute(self) -> int:
        hours, minutes = self.start.split(":")
        return int(hours) * 60 + int(minutes)

    @property
    def end_minute(self) -> int:
        hours, minutes = self.end.split(":")
        return int(hours) * 60 + int(minutes)


class Rules(_Section):
    already_purchased: AlreadyPurchased
    duplicate_recommendation: DuplicateRecommendation
    frequency_cap: FrequencyCap
    unresolved_placeholder: UnresolvedPlaceholder
    gift_purchase_signal: _Rule
    undeclared_life_event: _Rule
    sensitive_category: SensitiveCategory
    location_trigger: _Rule
    third_party_data: _Rule
    too_granular: TooGranular
    too_soon: TooSoon
    quiet_hours: QuietHours
    expired: _Rule
    personalization_opt_out: _Rule
    channel_opt_out: _Rule
    erased: _Rule

    @model_validator(mode="before")
    @classmethod
    def _default_modes(cls, data: Any) -> Any:
        """A rule's mode defaults to the reason table's; a rule without settings may be left
        out of the policy altogether."""
        if not isinstance(data, Mapping):
            return data
        filled = dict(data)
        for code, spec in BY_CODE.items():
            section = filled.get(code, {})
            if isinstance(section, Mapping) and "mode" not in section:
                filled[code] = {"mode": spec.mode, **section}
        return filled

    def mode(self, code: str) -> Mode:
        rule: _Rule = getattr(self, code)
        return rule.mode


if tuple(Rules.model_fields) != REASON_CODES:  # the table is the one list of codes
    raise ImportError("policy.Rules must have one section per reason code, in the table's order")


class Holdout(_Section):
    """A stable share of customers for whom the listed rules only run in shadow."""

    percent: float = Field(ge=0, le=100)
    salt: str
    rules: tuple[str, ...]

    @field_validator("rules")
    @classmethod
    def _only_holdable(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        refused = [code for code in value if code not in HOLDOUT_ALLOWED]
        if refused:
            raise ValueError(
                f"{', '.join(refused)} may not be held out (only {', '.join(HOLDOUT_ALLOWED)}:"
                " consent, sensitive, location, third-party, placeholder and life-event rules"
                " apply to every customer)"
            )
        return value


class StateLimits(_Section):
    max_remembered_rec_ids: int = Field(ge=0)
    browsing_memory_days: float = Field(ge=0)
    max_browsing_events: int = Field(ge=1)
    max_locations: int = Field(ge=0)
    purchase_memory_days: float = Field(ge=0)
    flagged_purchase_memory_days: float = Field(ge=0)
    max_purchase_items: int = Field(ge=1)
    max_flagged_browsing: int = Field(ge=0)


class ConsentDefaults(_Section):
    personalization: bool
    location_marketing: bool
    third_party_data: bool
    sensitive_categories: tuple[str, ...]

    def as_consent(self) -> Consent:
        return Consent(**self.model_dump())


class Policy(_Section):
    consent_defaults: ConsentDefaults
    rules: Rules
    holdout: Holdout
    state: StateLimits

    @cached_property
    def version(self) -> str:
        """A stable hash of the effective policy (canonical JSON, sha256, 12 hex digits)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _format_error(source: str, exc: ValidationError) -> str:
    found = problems(exc, root="(top level)")
    parts = []
    for problem in found:
        message = problem.message
        if problem.kind == "extra_forbidden":
            if problem.loc[:-1] == ("rules",):
                message = f"unknown reason code (known: {', '.join(REASON_CODES)})"
            else:
                message = "unknown key"
        parts.append(f"{problem.where}: {message}")
    return f"policy {source}: {len(found)} problem(s): {'; '.join(parts)}"


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy {source}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PolicyError(f"policy {source}: expected a mapping at the top level")
    return data


def default_policy_document() -> dict[str, Any]:
    """The packaged default policy (the contract's defaults) as a plain mapping."""
    text = resources.files("guardrail.core").joinpath("default_policy.yaml").read_text()
    return _read_yaml(text, "default_policy.yaml")


def policy_from_mapping(data: Mapping[str, Any], source: str = "<mapping>") -> Policy:
    """Validate ``data`` laid over the default policy; raise :class:`PolicyError` naming every
    problem. A policy file only needs the settings it changes."""
    if not isinstance(data, Mapping):
        raise PolicyError(f"policy {source}: expected a mapping at the top level")
    try:
        return Policy.model_validate(merge(default_policy_document(), data))
    except ValidationError as exc:
        raise PolicyError(_format_error(source, exc)) from None


def load_policy(path: str | Path | None = None) -> Policy:
    """Load the policy at ``path`` over the defaults, or the default policy when None."""
    if path is None:
        return policy_from_mapping({}, "default_policy.yaml")
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"policy {source}: cannot read: {exc.strerror}") from None
    return policy_from_mapping(_read_yaml(text, source), source)


def default_policy() -> Policy:
    return load_policy(None)
