"""The charts of `guardrail diff --html`: what changed between two policies."""

from __future__ import annotations

from guardrail.tools.diff import DiffResult, transition_name
from guardrail.tools.report.charts import Chart, Series, Table, bar_figure, listing, share


def transitions(result: DiffResult) -> Chart:
    pairs = result.transitions.most_common()
    names = [transition_name(p) for p, _ in pairs]
    alt = (
        f"Bars, one per change of action from A to B, for the {result.changed:,} changed "
        f"decisions: {listing([(transition_name(p), n) for p, n in pairs])}."
    )
    return Chart(
        "transitions",
        "Changed decisions by action transition (A -> B)",
        alt,
        bar_figure("transitions", names, [Series("changed", [n for _, n in pairs], "#0072B2")]),
        Table(
            ["transition", "changed"],
            [[name, n] for name, (_, n) in zip(names, pairs, strict=True)],
        ),
    )


def reasons(result: DiffResult) -> Chart:
    codes = sorted(set(result.reasons_gained) | set(result.reasons_lost))
    gained = [result.reasons_gained[c] for c in codes]
    lost = [result.reasons_lost[c] for c in codes]
    alt = (
        "Grouped bars, one pair per reason code: on changed decisions, how often B lists a "
        f"reason A did not (gained: {listing(list(result.reasons_gained.items()))}) and how "
        f"often A lists one B does not (lost: {listing(list(result.reasons_lost.items()))})."
    )
    return Chart(
        "reasons",
        "Reasons gained and lost under B",
        alt,
        bar_figure(
            "reasons",
            codes,
            [Series("gained under B", gained, "#D55E00"), Series("lost under B", lost, "#009E73")],
            stacked=False,
        ),
        Table(
            ["reason", "gained under B", "lost under B"],
            [[c, g, n] for c, g, n in zip(codes, gained, lost, strict=True)],
        ),
    )


def _tally_chart(result: DiffResult, key: str, what: str) -> Chart:
    table = result.by_channel if key == "channels" else result.by_day
    names = list(table)
    changed = [t.changed for t in table.values()]
    unchanged = [t.decisions - t.changed for t in table.values()]
    alt = f"Stacked bars, one per {what}: changed and unchanged decisions. " + "; ".join(
        f"{n}: {t.changed:,} of {t.decisions:,} changed ({share(t.changed, t.decisions)})"
        for n, t in table.items()
    )
    return Chart(
        key,
        f"Changed decisions by {what}",
        alt + ".",
        bar_figure(
            key,
            names,
            [Series("changed", changed, "#D55E00"), Series("unchanged", unchanged, "#BBBBBB")],
            x_title=what,
        ),
        Table(
            [what, "changed", "decisions", "share changed"],
            [[n, t.changed, t.decisions, share(t.changed, t.decisions)] for n, t in table.items()],
        ),
    )


def diff_charts(result: DiffResult) -> list[Chart]:
    return [
        transitions(result),
        reasons(result),
        _tally_chart(result, "channels", "channel"),
        _tally_chart(result, "days", "day (UTC)"),
    ]
