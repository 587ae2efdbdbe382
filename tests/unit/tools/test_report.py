"""`guardrail report`: one policy's outcome counted (by action, reason, channel, family,
per customer-day, deferrals by hour, holdout) and rendered as one self-contained page."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from factories import NOON, T0, hours, profile, rec
from guardrail.cli.main import main
from guardrail.core.policy import default_policy, load_policy
from guardrail.core.records import Decision, Reason, decision_to_json
from guardrail.tools.outcomes import Outcome, Rejected, replay_line, replay_outcomes
from guardrail.tools.report.aggregate import Masker, aggregate


def _lines() -> list[str]:
    events = [
        profile(customer="c-2", channel_opt_outs=["sms"]),
        # c-1: four emails on day one: the fourth is capped (3 per 24 h)
        *(rec(ts=NOON + i * 60_000, items=((f"S{i}", "books/fiction"),)) for i in range(4)),
        # c-1: a push at 22:00 UTC is deferred by quiet hours
        rec(ts=T0 + hours(46), channel="push", items=(("S9", "books/fiction"),)),
        # c-2: an sms they opted out of; a location trigger without consent
        rec(customer="c-2", ts=NOON, channel="sms"),
        rec(customer="c-2", ts=NOON + 60_000, trigger="location", data_sources=("location",)),
    ]
    return [replay_line(e) for e in events]


def _data(show: bool = False):  # type: ignore[no-untyped-def]
    outcomes = replay_outcomes(_lines(), default_policy(), Rejected())
    return aggregate(outcomes, Masker(show))


def test_counts_by_action_day_reason_and_channel() -> None:
    data = _data()
    assert data.decisions == 7
    assert data.by_action == {"deliver": 3, "rewrite": 1, "suppress": 3}
    assert data.days == ["2026-01-01", "2026-01-02"]
    assert data.by_day_action["2026-01-02"] == {"rewrite": 1}
    assert data.by_reason == {
        "frequency_cap": 1,
        "quiet_hours": 1,
        "channel_opt_out": 1,
        "location_trigger": 1,
    }
    assert data.by_channel_action["email"] == {"deliver": 3, "suppress": 2}
    assert data.by_channel_action["sms"] == {"suppress": 1}


def test_suppression_rate_per_family() -> None:
    data = _data()
    assert data.suppressed_by_family == {"repetitive": 1, "consent": 1, "intrusive": 1}
    assert data.suppression_rate("consent") == 1 / 7
    assert data.suppression_rate("mistaken") == 0


def test_messages_per_customer_day_before_and_after() -> None:
    # c-1 day 1: 4 proposed, 3 sent; c-1 day 2: 1 and 1; c-2 day 1: 2 and 0
    assert _data().messages_distribution() == [
        (0, 0, 1),
        (1, 1, 1),
        (2, 1, 0),
        (3, 0, 1),
        (4, 1, 0),
    ]


def test_deferrals_by_hour_of_day() -> None:
    data = _data()
    assert dict(data.deferrals_by_hour["quiet_hours"]) == {22: 1}
    assert not data.deferrals_by_hour["too_soon"]


def test_customer_ids_are_masked_consistently_within_a_report() -> None:
    masker = Masker()
    assert masker("c-1") == masker("c-1") != masker("c-2")
    assert "c-1" not in masker("c-1")
    assert Masker()("c-1") != masker("c-1")  # unlinkable across reports
    assert Masker(show=True)("c-1") == "c-1"


def test_no_holdout_group_without_holdout_decisions() -> None:
    data = _data()
    assert not data.holdout_present
    assert data.treated.decisions == 7


class _HoldoutDecision(Decision):
    """A decision as a policy with a holdout makes them (the ``holdout`` flag)."""

    holdout: bool = False


def test_holdout_versus_treated_when_decisions_carry_holdout() -> None:
    base = {"customer_id": "c-1", "ts": NOON, "policy_version": "p", "reasons": ()}
    capped = base | {"reasons": (Reason(code="frequency_cap", detail="cap", shadow=True),)}
    outcomes = [
        Outcome(None, _HoldoutDecision(rec_id="r1", action="deliver", holdout=True, **capped)),
        Outcome(None, _HoldoutDecision(rec_id="r2", action="suppress", **base)),
        Outcome(None, _HoldoutDecision(rec_id="r3", action="deliver", **base)),
    ]  # fmt: skip
    data = aggregate(outcomes, Masker())
    assert data.holdout_present
    assert (data.holdout.decisions, data.holdout.shadow_reasons) == (1, 1)
    assert data.treated.by_action == {"deliver": 1, "suppress": 1}
    assert data.shadow_by_reason == {"frequency_cap": 1}


def test_samples_cover_each_action_with_reasons() -> None:
    actions = {o.decision.action for o in _data().samples}
    assert actions == {"rewrite", "suppress"}  # plain deliveries without explanation: no sample


def _body(page: Path) -> str:
    """The page less its head (the inline plotting library)."""
    return page.read_text(encoding="utf-8").split("</head>", 1)[1]


def test_report_of_a_decisions_file(tmp_path: Path) -> None:
    decisions = tmp_path / "decisions.jsonl"
    outcomes = replay_outcomes(_lines(), default_policy(), Rejected())
    decisions.write_text("".join(decision_to_json(o.decision) + "\n" for o in outcomes))
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", str(decisions), "--html", str(out)])
    assert result.exit_code == 0, result.output
    page = _body(out)
    assert 'data-action="suppress">3<' in page
    assert "not in a decisions file" in page
    assert "c-1" not in page and "c-2" not in page


def test_show_customer_ids_opts_in(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(_lines()) + "\n")
    out = tmp_path / "r.html"
    args = ["report", str(events), "--html", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert "c-2" not in _body(out)
    assert CliRunner().invoke(main, [*args, "--show-customer-ids"]).exit_code == 0
    assert "c-2" in _body(out)


def test_a_file_that_is_neither_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"hello": 1}\n')
    result = CliRunner().invoke(main, ["report", str(bad), "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 1
    assert "neither an event nor a decision" in result.output


def test_a_policy_with_a_holdout_lights_up_holdout_versus_treated(tmp_path: Path) -> None:
    lines = [
        replay_line(rec(customer=f"c-{c}", ts=NOON + i * 60_000, items=((f"S{i}", "books/x"),)))
        for c in range(40)
        for i in range(5)
    ]
    policy = tmp_path / "holdout.yaml"
    policy.write_text("holdout: {percent: 50, salt: s1}\n", encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "r.html"
    cli = CliRunner().invoke(
        main, ["report", str(events), "--policy", str(policy), "--html", str(out)]
    )
    assert cli.exit_code == 0, cli.output
    data = aggregate(replay_outcomes(lines, load_policy(policy), Rejected()), Masker())
    assert 0 < data.holdout.decisions < data.decisions
    # the held-out customers keep their fourth and fifth message (the cap only in shadow)
    assert data.holdout.by_action["suppress"] == 0 < data.treated.by_action["suppress"]
    page = _body(out)
    assert 'id="holdout-table"' in page
    assert f"<td>{data.holdout.decisions}</td>" in page
    assert 'id="holdout-table"' not in _body_of_default(tmp_path, events)


def _body_of_default(tmp_path: Path, events: Path) -> str:
    out = tmp_path / "default.html"
    assert CliRunner().invoke(main, ["report", str(events), "--html", str(out)]).exit_code == 0
    return _body(out)
