"""`guardrail explain`: why one recommendation (or a customer's last ones) got its decision."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from guardrail.cli.options import kafka_options, settings_from, time_ms
from guardrail.tools.explain import Found, Query, TopicSearch, describe, from_file
from guardrail.tools.policy_doc import load_named

EXIT_NOT_FOUND = 3


def _search_topics(query: Query, since: str | None, flags: dict[str, Any]) -> list[Found]:
    settings = settings_from(flags)
    since_ms = time_ms(since, "--since")
    search = TopicSearch(settings, since_ms)
    found = search.decisions(query)
    return search.with_proposals(found) if found else found


@click.command(name="explain")
@click.option("--rec-id", help="The recommendation to explain.")
@click.option("--customer", help="Explain this customer's latest decisions.")
@click.option(
    "--last",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="With --customer: how many of the latest decisions.",
)
@click.option(
    "--file",
    "source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Look in this decisions file (or replay file, replayed with --policy) instead of "
    "the output topics.",
)
@click.option(
    "--policy",
    default="default",
    show_default=True,
    metavar="FILE|default",
    help="With --file of events: the policy that replays it.",
)
@click.option("--since", help="On Kafka: only records from this time (ISO, epoch ms or 24h).")
@click.option("--json", "as_json", is_flag=True, help="Print the decisions as JSON lines.")
@kafka_options
def explain_cmd(
    rec_id: str | None,
    customer: str | None,
    last: int,
    source: Path | None,
    policy: str,
    since: str | None,
    as_json: bool,
    **flags: Any,
) -> None:
    """Print why a recommendation got its decision: action, every reason with its detail,
    shadow reasons, policy version, explanation, and the copy before and after.

    Looks on recommendations.approved (the decision header) and recommendations.suppressed,
    and for the copy as proposed on recommendations.proposed; or in --file. Exit status 3
    when nothing is found, 1 when Kafka or the file cannot be read.
    """
    if (rec_id is None) == (customer is None):
        raise click.UsageError("give exactly one of --rec-id or --customer")
    query = Query(rec_id=rec_id, customer=customer, last=last)
    if source is not None:
        found = from_file(source, query, load_named(policy))
    else:
        found = _search_topics(query, since, flags)
    if not found:
        what = f"rec_id {rec_id}" if rec_id else f"customer {customer}"
        click.echo(f"no decision found for {what}", err=True)
        sys.exit(EXIT_NOT_FOUND)
    for i, one in enumerate(found):
        if as_json:
            click.echo(json.dumps(one.outcome.decision.model_dump(mode="json")))
            continue
        if i:
            click.echo("")
        for line in describe(one):
            click.echo(line)
