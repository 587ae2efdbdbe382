"""`guardrail diff`: replay one event file under two policies and show what changed."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from guardrail.tools.diff import describe, diff_policies
from guardrail.tools.policy_doc import label, load_named

EXIT_REJECTED = 1


@click.command(name="diff", short_help="What-if: one event file under two policies, what changed.")
@click.option(
    "--policy",
    "policies",
    multiple=True,
    required=True,
    metavar="FILE|default",
    help="Give it twice: policy A, then policy B (`default`: the contract's policy).",
)
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--examples",
    type=click.IntRange(0),
    default=10,
    show_default=True,
    help="How many changed decisions to show before/after.",
)
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a self-contained HTML report here.",
)
@click.option(
    "--show-customer-ids", is_flag=True, help="Show customer ids in the HTML (masked by default)."
)
def diff_cmd(
    policies: tuple[str, ...],
    events: Path,
    examples: int,
    html_out: Path | None,
    show_customer_ids: bool,
) -> None:
    """What-if: replay EVENTS (a replay file) under policy A and policy B, with no broker.

    Prints how many decisions changed, by action transition (deliver -> suppress ...), by
    reason, by channel and by day, and the first changed decisions before and after. Exit
    status 0, or 1 when a line of EVENTS was rejected (each reported on stderr).
    """
    if len(policies) != 2:
        raise click.UsageError("give --policy exactly twice (A, then B); either may be `default`")
    a, b = (load_named(p) for p in policies)
    with events.open(encoding="utf-8") as handle:
        result = diff_policies(
            handle, a, b, label_a=label(policies[0]), label_b=label(policies[1]), examples=examples
        )
    for line in describe(result):
        click.echo(line)
    if html_out is not None:
        from guardrail.tools.report.build import write_diff

        write_diff(result, html_out, str(events), show_customer_ids)
        click.echo(f"HTML report: {html_out}", err=True)
    for number, reason in result.rejected.lines:
        click.echo(f"{events}:{number}: rejected: {reason}", err=True)
    if result.rejected.lines:
        sys.exit(EXIT_REJECTED)
