"""The charts of `guardrail report`: one policy's outcome, from :class:`ReportData`."""

from __future__ import annotations

from guardrail.core.reasons import FAMILIES
from guardrail.core.records import ACTIONS
from guardrail.tools.report.aggregate import DEFERRALS, ReportData
from guardrail.tools.report.charts import (
    ACTION_COLOURS,
    Cell,
    Chart,
    Series,
    Table,
    bar_figure,
    listing,
    share,
)


def actions_over_time(data: ReportData) -> Chart:
    days = data.days
    series = [
        Series(a, [data.by_day_action[d][a] for d in days], ACTION_COLOURS[a]) for a in ACTIONS
    ]
    totals = ", ".join(
        f"{data.by_action[a]:,} {a} ({share(data.by_action[a], data.decisions)})" for a in ACTIONS
    )
    alt = (
        f"Stacked bars, one per day over {len(days)} day(s): {data.decisions:,} decisions in "
        f"all, {totals}."
    )
    rows: list[list[Cell]] = [[d, *(data.by_day_action[d][a] for a in ACTIONS)] for d in days]
    rows.append(["total", *(data.by_action[a] for a in ACTIONS)])
    return Chart(
        "actions",
        "Decisions by action, per day",
        alt,
        bar_figure("actions", days, series, x_title="day (UTC)"),
        Table(["day", *ACTIONS], rows),
    )


def reasons_over_time(data: ReportData) -> Chart:
    days = data.days
    codes = [c for c, _ in data.by_reason.most_common()]
    series = [Series(c, [data.by_day_reason[d][c] for d in days]) for c in codes]
    alt = (
        "Stacked bars, one per day: how often each enforced rule fired (a decision can "
        f"carry several). Most frequent: {listing(list(data.by_reason.items()))}."
    )
    if data.shadow_by_reason:
        shadow = listing(list(data.shadow_by_reason.items()))
        alt += f" Shadow rules (recorded, not enforced): {shadow}."
    rows: list[list[Cell]] = [
        [c, data.by_reason[c], data.shadow_by_reason[c], *(data.by_day_reason[d][c] for d in days)]
        for c in codes
    ]
    rows += [
        [c, 0, n, *([0] * len(days))]
        for c, n in data.shadow_by_reason.items()
        if c not in data.by_reason
    ]
    return Chart(
        "reasons",
        "Reasons, per day",
        alt,
        bar_figure("reasons", days, series, y_title="reasons fired", x_title="day (UTC)"),
        Table(["reason", "enforced", "shadow", *days], rows),
    )


def per_channel(data: ReportData) -> Chart:
    channels = sorted(data.by_channel_action)
    table = data.by_channel_action
    series = [Series(a, [table[c][a] for c in channels], ACTION_COLOURS[a]) for a in ACTIONS]
    parts = []
    for c in channels:
        total = sum(table[c].values())
        parts.append(f"{c}: {total:,} decisions, {share(table[c]['suppress'], total)} suppressed")
    alt = "Stacked bars, one per channel. " + "; ".join(parts) + "."
    rows: list[list[Cell]] = [
        [c, *(table[c][a] for a in ACTIONS), share(table[c]["suppress"], sum(table[c].values()))]
        for c in channels
    ]
    return Chart(
        "channels",
        "Decisions per channel",
        alt,
        bar_figure("channels", channels, series, x_title="channel"),
        Table(["channel", *ACTIONS, "suppressed"], rows),
    )


def suppression_by_family(data: ReportData) -> Chart:
    rates = [data.suppression_rate(f) for f in FAMILIES]
    alt = (
        "Bars, one per rule family: the share of all decisions suppressed with an enforced "
        "reason of that family (one suppression can count for several families). "
        + "; ".join(f"{f} {share(data.suppressed_by_family[f], data.decisions)}" for f in FAMILIES)
        + "."
    )
    rows: list[list[Cell]] = [
        [f, data.suppressed_by_family[f], share(data.suppressed_by_family[f], data.decisions)]
        for f in FAMILIES
    ]
    return Chart(
        "families",
        "Suppression rate per rule family",
        alt,
        bar_figure(
            "families",
            list(FAMILIES),
            [Series("suppression rate", rates, "#D55E00")],
            y_title="share of decisions",
            percent=True,
        ),
        Table(["family", "suppressed", "share of decisions"], rows),
    )


def messages_per_customer_day(data: ReportData) -> Chart:
    dist = data.messages_distribution()
    labels = [str(n) for n, _, _ in dist]
    series = [
        Series("proposed (before the guardrail)", [b for _, b, _ in dist], "#0072B2"),
        Series("delivered (after)", [a for _, _, a in dist], "#009E73"),
    ]
    customer_days = len(data.before_per_customer_day)
    most_before = max((n for n, b, _ in dist if b), default=0)
    most_after = max((n for n, _, a in dist if a), default=0)
    alt = (
        f"Grouped bars: of {customer_days:,} customer-days with a recommendation, how many got "
        f"each number of messages. Before the guardrail at most {most_before} a day, after it "
        f"at most {most_after}; {dist[0][2] if dist else 0:,} customer-days got none after it."
    )
    return Chart(
        "per-customer",
        "Messages per customer per day, before and after the guardrail",
        alt,
        bar_figure(
            "per-customer",
            labels,
            series,
            stacked=False,
            y_title="customer-days",
            x_title="messages in the day",
        ),
        Table(
            ["messages in the day", "customer-days before", "customer-days after"],
            [list(row) for row in dist],
        ),
    )


def deferrals_by_hour(data: ReportData) -> Chart:
    hours = [f"{h:02d}" for h in range(24)]
    series = [Series(c, [data.deferrals_by_hour[c][h] for h in range(24)]) for c in DEFERRALS]
    totals = {c: sum(data.deferrals_by_hour[c].values()) for c in DEFERRALS}
    busiest = sorted(
        range(24), key=lambda h: -sum(data.deferrals_by_hour[c][h] for c in DEFERRALS)
    )[:3]
    alt = (
        "Stacked bars, one per hour of the day (UTC) the recommendation was proposed: "
        f"deferred sends, {listing(list(totals.items()))}. "
        f"Busiest hours: {', '.join(f'{h:02d}:00' for h in busiest)}."
    )
    rows: list[list[Cell]] = [
        [hours[h], *(data.deferrals_by_hour[c][h] for c in DEFERRALS)] for h in range(24)
    ]
    return Chart(
        "deferrals",
        "Deferred sends by hour of day",
        alt,
        bar_figure("deferrals", hours, series, y_title="deferred", x_title="hour (UTC)"),
        Table(["hour (UTC)", *DEFERRALS], rows),
    )


def holdout_vs_treated(data: ReportData) -> Chart:
    groups = {"holdout": data.holdout, "treated": data.treated}
    series = [
        Series(a, [g.by_action[a] / g.decisions if g.decisions else 0 for g in groups.values()],
               ACTION_COLOURS[a])
        for a in ACTIONS
    ]  # fmt: skip
    alt = "Stacked bars of the share of each action, for the holdout group and the treated. " + (
        "; ".join(
            f"{name}: {g.decisions:,} decisions, {share(g.by_action['suppress'], g.decisions)} "
            f"suppressed, {g.delivered_per_customer_day:.2f} delivered per customer-day"
            for name, g in groups.items()
        )
    )
    rows: list[list[Cell]] = [
        [name, g.decisions, *(g.by_action[a] for a in ACTIONS), g.shadow_reasons,
         f"{g.delivered_per_customer_day:.2f}"]
        for name, g in groups.items()
    ]  # fmt: skip
    return Chart(
        "holdout",
        "Holdout versus treated customers",
        alt + ".",
        bar_figure("holdout", list(groups), series, y_title="share", percent=True),
        Table(
            ["group", "decisions", *ACTIONS, "shadow reasons", "delivered per customer-day"],
            rows,
        ),
    )


def report_charts(data: ReportData) -> list[Chart]:
    charts = [
        actions_over_time(data),
        reasons_over_time(data),
        per_channel(data),
        suppression_by_family(data),
        messages_per_customer_day(data),
        deferrals_by_hour(data),
    ]
    if data.holdout_present:
        charts.append(holdout_vs_treated(data))
    return charts
