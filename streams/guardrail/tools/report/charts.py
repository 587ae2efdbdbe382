"""Chart primitives: a plotly bar chart with its text alternative and its table view.

Every chart in a report is a :class:`Chart`: the figure (plotly, drawn by the plotly.js that
the page carries inline), a sentence or two saying what it shows (the text alternative
screen readers get), and a table of exactly the numbers drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
from markupsafe import Markup
from plotly.colors import qualitative

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
ACTION_COLOURS = {"deliver": "#009E73", "rewrite": "#E69F00", "suppress": "#D55E00"}
HEIGHT = 340

Cell = str | int | float


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class Chart:
    key: str  # the section's id in the page
    title: str
    alt: str  # the text alternative: what the chart shows, in words
    figure: Markup
    table: Table


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str | None = None


def bar_figure(
    key: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = True,
    y_title: str = "decisions",
    x_title: str = "",
    percent: bool = False,
) -> Markup:
    """A bar chart as an HTML fragment (no plotly.js: the page carries it once)."""
    figure = go.Figure()
    # more series than the colour-blind-safe palette has colours (the reasons): 24 distinct
    palette = PALETTE if len(series) <= len(PALETTE) else tuple(qualitative.Dark24)
    for i, one in enumerate(series):
        figure.add_bar(
            name=one.name,
            x=list(categories),
            y=list(one.values),
            marker_color=one.colour or palette[i % len(palette)],
            hovertemplate="%{x}: %{y"
            + (":.1%" if percent else ":,")
            + "}<extra>"
            + one.name
            + "</extra>",
        )
    figure.update_layout(
        barmode="stack" if stacked else "group",
        height=HEIGHT,
        margin={"l": 60, "r": 20, "t": 20, "b": 60},
        template="plotly_white",
        font={"size": 14},
        legend={"orientation": "h", "y": -0.25},
        xaxis={"title": {"text": x_title}, "type": "category"},
        yaxis={"title": {"text": y_title}, "tickformat": ".0%" if percent else ",d"},
    )
    html = figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{key}",
        config={"displaylogo": False, "responsive": True},
    )
    return Markup(html)


def share(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def listing(pairs: Sequence[tuple[str, int]], limit: int = 4) -> str:
    """``a 12, b 3 and 2 more`` for the biggest pairs."""
    ranked = sorted(pairs, key=lambda kv: -kv[1])
    words = [f"{name} {count:,}" for name, count in ranked[:limit] if count]
    more = len([p for p in ranked[limit:] if p[1]])
    if not words:
        return "none"
    return ", ".join(words) + (f" and {more} more" if more else "")
