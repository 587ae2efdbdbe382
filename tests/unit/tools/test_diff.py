"""`guardrail diff`: two policies over one stream; counts by transition, reason, channel, day,
and the first changed examples."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from factories import NOON, T0, days, hours, policy_with, rec
from guardrail.cli.main import main
from guardrail.core.policy import default_policy
from guardrail.core.replay import Replayer
from guardrail.tools.diff import diff_policies
from guardrail.tools.outcomes import replay_line

CAP_2 = {"rules": {"frequency_cap": {"max_total": 2}}}


def _burst(customer: str, day: int, n: int, channel: str = "email") -> list[str]:
    """``n`` recommendations to one customer within an hour of one day."""
    return [
        replay_line(
            rec(
                customer=customer,
                ts=NOON + days(day) + i * 60_000,
                channel=channel,
                items=((f"SKU-{day}-{i}", "books/fiction"),),
            )
        )
        for i in range(n)
    ]


def test_a_tighter_cap_suppresses_the_third_message_of_a_day() -> None:
    lines = _burst("c-1", 0, 3) + _burst("c-2", 1, 2, "in_app")
    result = diff_policies(lines, default_policy(), policy_with(CAP_2), label_b="cap2")
    assert (result.decisions, result.changed) == (5, 1)
    assert result.transitions == {("deliver", "suppress"): 1}
    assert result.reasons_gained == {"frequency_cap": 1}
    assert not result.reasons_lost
    assert result.by_channel["email"].changed == 1
    assert result.by_channel["in_app"].changed == 0
    assert [(d, t.decisions, t.changed) for d, t in result.by_day.items()] == [
        ("2026-01-01", 3, 1),
        ("2026-01-02", 2, 0),
    ]
    (example,) = result.examples
    assert example.a.action == "deliver" and example.b.action == "suppress"
    assert example.proposed.rec_id == example.a.rec_id


def test_same_policy_changes_nothing() -> None:
    lines = _burst("c-1", 0, 5)
    result = diff_policies(lines, default_policy(), default_policy())
    assert (result.decisions, result.changed, result.examples) == (5, 0, [])


def test_counts_equal_each_policys_own_replay() -> None:
    lines = _burst("c-1", 0, 4) + _burst("c-2", 0, 4, "push") + _burst("c-1", 2, 4, "sms")
    result = diff_policies(lines, default_policy(), policy_with(CAP_2))
    for policy, actions in (
        (default_policy(), result.actions_a),
        (policy_with(CAP_2), result.actions_b),
    ):
        replayer = Replayer(policy)
        list(replayer.replay_lines(lines))
        assert actions == replayer.summary.by_action


def test_a_deferral_that_moves_counts_as_changed_with_the_same_action() -> None:
    from factories import browsing

    lines = [
        replay_line(browsing(ts=T0 + hours(10))),
        replay_line(rec(ts=T0 + hours(10) + 40 * 60_000, trigger="browse")),
    ]
    longer = policy_with({"rules": {"too_soon": {"min_delay_minutes": 60}}})
    result = diff_policies(lines, default_policy(), longer)
    assert result.transitions == {("deliver", "rewrite"): 1}
    assert result.reasons_gained == {"too_soon": 1}


def test_first_n_examples_only() -> None:
    lines = [line for c in range(6) for line in _burst(f"c-{c}", 0, 3)]
    result = diff_policies(lines, default_policy(), policy_with(CAP_2), examples=4)
    assert result.changed == 6
    assert len(result.examples) == 4


def test_command_prints_counts_and_writes_html(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(_burst("c-1", 0, 3)) + "\nnot json\n", encoding="utf-8")
    policy = tmp_path / "cap2.yaml"
    policy.write_text("rules:\n  frequency_cap:\n    max_total: 2\n", encoding="utf-8")
    html = tmp_path / "diff.html"
    result = CliRunner().invoke(
        main,
        ["diff", "--policy", "default", "--policy", str(policy), str(events), "--html", str(html)],
    )
    assert result.exit_code == 1  # the rejected line
    assert "1 of 3 decisions changed (33.3%)" in result.output
    assert "deliver -> suppress" in result.output
    assert "events.jsonl:4: rejected: not valid JSON" in result.output
    page = html.read_text(encoding="utf-8")
    assert 'data-count="changed">1<' in page
    assert "<script src=" not in page  # plotly.js is inline


def test_command_needs_two_policies(tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text("\n".join(_burst("c-1", 0, 1)) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", "--policy", "default", str(events)])
    assert result.exit_code == 2
    assert "exactly twice" in result.output
