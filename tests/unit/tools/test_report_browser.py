"""The HTML reports in real headless Chromium: every chart drew, no console message, nothing
fetched from the network, and the numbers on the page equal the pure replay's."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from browser import coloured_pixels, non_white_share, number, render, tables
from factories import policy_with
from guardrail.core.policy import default_policy
from guardrail.core.records import ACTIONS
from guardrail.core.replay import Replayer
from guardrail.generate.stream import GeneratorConfig, generate_lines
from guardrail.tools.diff import day_of, diff_policies
from guardrail.tools.report.build import build_report, write_diff

DELIVER_GREEN = (0x00, 0x9E, 0x73)


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("events") / "events.jsonl"
    cfg = GeneratorConfig(seed=11, customers=120, events=3000, days=5.0, bad_line_rate=0.0)
    path.write_text("\n".join(generate_lines(cfg)) + "\n", encoding="utf-8")
    return path


def _replay(events: Path):  # type: ignore[no-untyped-def]
    replayer = Replayer(default_policy())
    with events.open(encoding="utf-8") as handle:
        decisions = list(replayer.replay_lines(handle))
    return replayer.summary, decisions


def _column(rows: list[list[str]], name: str) -> dict[str, float]:
    """A table's column as row label -> number (the header row names the columns)."""
    index = rows[0].index(name)
    return {row[0]: number(row[index]) for row in rows[1:]}


def test_report_draws_every_chart_with_the_replays_numbers(events: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    build_report(events, page, default_policy(), policy_label="default")
    html = page.read_text(encoding="utf-8")
    assert "<script src=" not in html and "<link " not in html  # one file, nothing fetched

    shown = render(page, tmp_path)
    assert shown.console == []
    charts = html.count('class="figure"')
    assert charts >= 6
    assert shown.dom.count('class="main-svg"') >= charts  # plotly drew each one
    assert non_white_share(shown.screenshot) > 0.05
    assert coloured_pixels(shown.screenshot, DELIVER_GREEN) > 2000  # the deliver bars

    summary, decisions = _replay(events)
    found = tables(shown.dom)
    totals = _column(found["totals"], "decisions")
    assert {a: int(totals[a]) for a in ACTIONS} == {a: summary.by_action[a] for a in ACTIONS}
    assert totals["total"] == summary.decisions

    per_day = Counter((day_of(d.ts), d.action) for d in decisions)
    for action in ACTIONS:
        column = _column(found["actions-table"], action)
        assert {k: v for k, v in column.items() if k != "total" and v} == {
            day: n for (day, a), n in per_day.items() if a == action
        }
    enforced = _column(found["reasons-table"], "enforced")
    assert {k: int(v) for k, v in enforced.items() if v} == dict(summary.by_reason)
    customer_days = {(d.customer_id, day_of(d.ts)) for d in decisions}
    before = _column(found["per-customer-table"], "customer-days before")
    assert sum(before.values()) == len(customer_days)


def test_diff_page_shows_the_changed_counts(events: Path, tmp_path: Path) -> None:
    b = policy_with({"rules": {"frequency_cap": {"max_total": 2}}})
    with events.open(encoding="utf-8") as handle:
        result = diff_policies(handle, default_policy(), b, label_b="cap 2")
    assert result.changed > 0
    page = tmp_path / "diff.html"
    write_diff(result, page, str(events), show_customer_ids=False)

    shown = render(page, tmp_path)
    assert shown.console == []
    assert shown.dom.count('class="main-svg"') >= 4
    assert non_white_share(shown.screenshot) > 0.05
    found = tables(shown.dom)
    totals = _column(found["totals"], "decisions")
    assert (totals["changed"], totals["total"]) == (result.changed, result.decisions)
    transitions = _column(found["transitions-table"], "changed")
    assert sum(transitions.values()) == result.changed
    by_day = _column(found["days-table"], "changed")
    assert by_day == {day: t.changed for day, t in result.by_day.items()}
