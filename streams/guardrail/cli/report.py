"""`guardrail report`: one policy's outcome over a stream, as a self-contained HTML page."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from guardrail.tools.policy_doc import label, load_named

EXIT_REJECTED = 1


@click.command(name="report")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Write the report here (one file, opens offline).",
)
@click.option(
    "--policy",
    default="default",
    show_default=True,
    metavar="FILE|default",
    help="The policy that replays an events file (a decisions file says its own).",
)
@click.option(
    "--examples",
    type=click.IntRange(0),
    default=12,
    show_default=True,
    help="How many before/after examples the report shows.",
)
@click.option("--show-customer-ids", is_flag=True, help="Show customer ids (masked by default).")
def report_cmd(
    source: Path, html_out: Path, policy: str, examples: int, show_customer_ids: bool
) -> None:
    """Write an HTML report of what a policy did over SOURCE.

    SOURCE is a replay file (events: replayed here with --policy) or a decisions file (one
    Decision per line, as `guardrail replay` or `guardrail export --decisions` write). The
    report shows decisions by action and reason per day, per channel, the suppression rate
    per rule family, messages per customer per day before and after the guardrail, deferrals
    by hour, holdout versus treated (when the decisions have a holdout group) and examples
    before/after with their reasons and explanations.
    """
    from guardrail.tools.report.build import build_report, summary_lines

    loaded = load_named(policy)
    built = build_report(
        source,
        html_out,
        loaded,
        policy_label=label(policy),
        show_customer_ids=show_customer_ids,
        samples=examples,
    )
    for line in summary_lines(built.data):
        click.echo(line, err=True)
    for number, reason in built.rejected.lines:
        click.echo(f"{source}:{number}: rejected: {reason}", err=True)
    click.echo(f"HTML report: {html_out}")
    if built.rejected.lines:
        sys.exit(EXIT_REJECTED)
