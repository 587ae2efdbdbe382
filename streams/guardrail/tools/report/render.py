"""Render a report as one self-contained HTML file (jinja2 templates, plotly.js inline).

The page loads nothing from the network: the plotting library, styles and data are all in
the file, so it opens offline and can be mailed or attached to a ticket as it is.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from guardrail.core.records import ACTIONS
from guardrail.tools.diff import DiffResult
from guardrail.tools.report.aggregate import Masker, ReportData
from guardrail.tools.report.charts import share
from guardrail.tools.report.diff_view import diff_charts
from guardrail.tools.report.report_view import report_charts


def _num(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _when(ms: int | None) -> str:
    if ms is None:
        return "none"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("guardrail.tools.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["when"] = _when
    env.globals["share"] = share
    env.globals["actions"] = ACTIONS
    return env


@functools.cache
def _plotly_js() -> Markup:
    return Markup(get_plotlyjs())


def _masking_note(masker: Masker) -> str:
    if masker.show:
        return "Customer ids are shown as they are (--show-customer-ids)."
    return "Customer ids are masked (a random key per report; --show-customer-ids shows them)."


def render_report(
    data: ReportData,
    masker: Masker,
    *,
    source: str,
    policy_label: str,
    holdout_percent: float | None = None,
) -> str:
    """The HTML of `guardrail report`."""
    versions = ", ".join(v for v, _ in data.policy_versions.most_common()) or "-"
    note = None
    if holdout_percent and not data.holdout_present:
        note = (
            f"The policy holds out {holdout_percent:g}% of customers, but no decision here is "
            "marked holdout (decisions made before the holdout existed?)."
        )
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            kind="report",
            title="Guardrail report: what the policy did",
            charts=report_charts(data),
            data=data,
            source=source,
            policy_label=policy_label,
            versions=versions,
            holdout_note=note,
            mask=masker,
            masking_note=_masking_note(masker),
            plotly_js=_plotly_js(),
        )
    )


def render_diff(result: DiffResult, masker: Masker, *, source: str) -> str:
    """The HTML of `guardrail diff --html`."""
    return (
        environment()
        .get_template("diff.html.j2")
        .render(
            kind="diff",
            title=f"Guardrail what-if: {result.label_a} versus {result.label_b}",
            charts=diff_charts(result),
            result=result,
            source=source,
            mask=masker,
            masking_note=_masking_note(masker),
            plotly_js=_plotly_js(),
        )
    )


def write(path: Path, html: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
