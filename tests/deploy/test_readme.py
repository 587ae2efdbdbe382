"""deploy/README.md (the operations section) agrees with the code it documents."""

from __future__ import annotations

import re

from deploy_helpers import DEPLOY, KNOWN_ENV, recording_rules
from guardrail.metrics.metric_set import ERROR_KINDS, METRIC_NAMES, OUTCOMES

README = DEPLOY / "README.md"


def text() -> str:
    return README.read_text(encoding="utf-8")


def test_every_metric_recording_rule_outcome_and_error_kind_is_explained() -> None:
    readme = text()
    for name in [*METRIC_NAMES, *recording_rules()]:
        assert f"`{name}`" in readme, name
    for value in [*OUTCOMES, *ERROR_KINDS]:
        assert f"`{value}`" in readme, value


def test_every_setting_is_listed_and_every_listed_one_exists() -> None:
    readme = text()
    listed = set(re.findall(r"`(GUARDRAIL_\w+)`", readme))
    # shorthand rows: `GUARDRAIL_SASL_MECHANISM`, `_SASL_USERNAME`, ...
    for row in re.findall(r"^\|\s*(`GUARDRAIL_\w+`(?:,\s*`_\w+`)+)", readme, re.M):
        listed |= {f"GUARDRAIL{short}" for short in re.findall(r"`(_\w+)`", row)}
    assert listed <= KNOWN_ENV, sorted(listed - KNOWN_ENV)
    assert listed >= KNOWN_ENV, sorted(KNOWN_ENV - listed)


def test_the_shadow_rollout_names_the_shadow_series() -> None:
    readme = text()
    assert "mode: shadow" in readme
    assert 'guardrail_decision_reasons_total{shadow="true"}' in readme
