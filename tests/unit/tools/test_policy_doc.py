"""`guardrail policy show|validate|diff`: the effective policy with its version, validation
exit codes for CI, and a key-by-key difference."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from guardrail.cli.main import main
from guardrail.core.policy import default_policy, load_policy
from guardrail.tools.policy_doc import flatten, policy_changes


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_show_prints_the_effective_merged_policy_and_its_version(tmp_path: Path) -> None:
    path = _write(tmp_path, "p.yaml", "rules:\n  frequency_cap:\n    max_total: 2\n")
    result = CliRunner().invoke(main, ["policy", "show", str(path)])
    assert result.exit_code == 0, result.output
    version = load_policy(path).version
    assert result.output.startswith(f"# policy_version: {version}\n")
    doc = yaml.safe_load(result.output)
    assert doc["rules"]["frequency_cap"]["max_total"] == 2
    # merged: a key the file does not name keeps the default
    assert doc["rules"]["duplicate_recommendation"]["max_deliveries"] == 2


def test_show_json_of_the_default_policy() -> None:
    result = CliRunner().invoke(main, ["policy", "show", "default", "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["policy_version"] == default_policy().version
    assert doc["policy"]["rules"]["frequency_cap"]["max_total"] == 3


def test_validate_exit_status_0_for_valid_files(tmp_path: Path) -> None:
    good = _write(tmp_path, "good.yaml", "rules:\n  too_soon:\n    mode: shadow\n")
    result = CliRunner().invoke(main, ["policy", "validate", str(good), "default"])
    assert result.exit_code == 0
    assert "good.yaml: valid, policy_version" in result.output


def test_validate_exit_status_1_naming_the_file_and_key(tmp_path: Path) -> None:
    good = _write(tmp_path, "good.yaml", "{}\n")
    bad = _write(tmp_path, "bad.yaml", "rules:\n  frequency_cap:\n    max_totl: 2\n")
    result = CliRunner().invoke(main, ["policy", "validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml" in result.output
    assert "rules.frequency_cap.max_totl: unknown key" in result.output


def test_validate_quiet_prints_nothing(tmp_path: Path) -> None:
    bad = _write(tmp_path, "bad.yaml", "rules: [1]\n")
    result = CliRunner().invoke(main, ["policy", "validate", "-q", str(bad)])
    assert (result.exit_code, result.output) == (1, "")


def test_diff_lists_each_changed_key_and_exits_1(tmp_path: Path) -> None:
    b = _write(
        tmp_path,
        "b.yaml",
        "rules:\n  frequency_cap:\n    max_total: 2\n  too_soon:\n    mode: shadow\n",
    )
    result = CliRunner().invoke(main, ["policy", "diff", "default", str(b)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "~ rules.frequency_cap.max_total: 3 -> 2" in lines
    assert "~ rules.too_soon.mode: enforce -> shadow" in lines
    assert "2 key(s) differ" in lines
    assert lines[0] == f"--- default (policy_version {default_policy().version})"


def test_diff_of_equal_policies_exits_0(tmp_path: Path) -> None:
    same = _write(tmp_path, "same.yaml", "rules:\n  frequency_cap:\n    max_total: 3\n")
    result = CliRunner().invoke(main, ["policy", "diff", "default", str(same)])
    assert result.exit_code == 0
    assert "no difference" in result.output


def test_diff_of_a_bad_file_is_a_one_line_error(tmp_path: Path) -> None:
    bad = _write(tmp_path, "bad.yaml", "rules:\n  nonsense_rule: {mode: enforce}\n")
    result = CliRunner().invoke(main, ["policy", "diff", "default", str(bad)])
    assert result.exit_code == 1
    assert "unknown reason code" in result.output


def test_changes_added_and_removed_keys() -> None:
    a = default_policy()
    assert policy_changes(a, a) == []
    flat = dict(flatten({"a": {"b": 1, "c": [1, 2]}, "d": {}}))
    assert flat == {"a.b": 1, "a.c": [1, 2], "d": {}}
