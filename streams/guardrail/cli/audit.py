"""`guardrail audit`: every proposed recommendation accounted for (see guardrail.tools.audit)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from guardrail.cli.options import kafka_options, settings_from, time_ms
from guardrail.core.policy import load_policy
from guardrail.tools.audit import audit as run_audit
from guardrail.tools.audit import describe, expected_decisions


@click.command(
    name="audit", short_help="Check that every proposal got one decision or a dead letter."
)
@kafka_options
@click.option(
    "--since",
    help="Only proposals produced at or after this time (ISO 8601, epoch ms, or 24h ago).",
)
@click.option(
    "--until", help="Only proposals produced before this time (ISO 8601, epoch ms, or 2h ago)."
)
@click.option(
    "--compare",
    "compare",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A replay file (JSON lines) of the events on the topics: every decision found must "
    "equal the pure replay's (guardrail replay) with the worker's policy.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--show",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="How many missing / duplicated rec_ids to list.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress on stderr [default: when stderr is a terminal].",
)
def audit(
    since: str | None,
    until: str | None,
    compare: Path | None,
    as_json: bool,
    show: int,
    progress: bool | None,
    **flags: Any,
) -> None:
    """Check that every proposed recommendation got exactly one decision or a dead letter.

    Reads recommendations.proposed, recommendations.approved, recommendations.suppressed and
    guardrail.deadletter (from the beginning, or the --since/--until range) up to their end
    offsets at start, and reports counts, dead letters by error kind, missing rec_ids and
    duplicated decisions (identical to the first or not). Run it once the workers have caught
    up. Exit status 1 when a decision is missing or a duplicate differs, 2 when it cannot run.
    """
    settings = settings_from(flags)
    expected = None
    if compare is not None:
        with compare.open(encoding="utf-8", errors="replace") as lines:
            expected = expected_decisions(lines, load_policy(settings.policy))
    show_progress = sys.stderr.isatty() if progress is None else progress

    def report_progress(topic: str, done: int, total: int) -> None:
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed > 0 else 0.0
        click.echo(f"audit: {done:,}/{total:,} records ({rate:,.0f}/s) {topic}", err=True)

    started = time.monotonic()
    report = run_audit(
        settings,
        since_ms=time_ms(since, "--since"),
        until_ms=time_ms(until, "--until"),
        show=show,
        progress=report_progress if show_progress else None,
        expected=expected,
    )
    if as_json:
        click.echo(json.dumps(report.to_json(), sort_keys=True))
    else:
        for line in describe(report, settings):
            click.echo(line)
    sys.exit(0 if report.ok else 1)
