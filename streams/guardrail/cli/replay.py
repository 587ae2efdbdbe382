"""`guardrail replay`: decide every recommendation of a JSONL event file, with no broker."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

import click

from guardrail.cli.options import kafka_options, settings_from
from guardrail.config import Settings
from guardrail.core.policy import load_policy
from guardrail.core.records import decision_to_json
from guardrail.core.replay import Replayer, ReplaySummary

EXIT_REJECTED = 1


def print_summary(summary: ReplaySummary, err: IO[str]) -> None:
    """Counts by action and by reason, and every rejected line, on ``err``."""
    print(
        f"replayed {summary.events} events: {summary.decisions} decisions, "
        f"{len(summary.rejected)} rejected lines",
        file=err,
    )
    for action in ("deliver", "rewrite", "suppress"):
        print(f"  {action:<10} {summary.by_action.get(action, 0):>8}", file=err)
    if summary.by_reason:
        print("  reasons:", file=err)
        for reason, count in sorted(summary.by_reason.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"    {reason:<34} {count:>8}", file=err)


@click.command()
@click.argument("events", type=click.File("r", encoding="utf-8"))
@click.option(
    "--policy",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="GUARDRAIL_POLICY",
    help="Policy YAML file (default: the packaged contract policy). Env: GUARDRAIL_POLICY.",
)
@click.option(
    "--out",
    type=click.File("w", encoding="utf-8", lazy=True),
    default="-",
    help="Write decisions here as JSON lines (default: stdout).",
)
@click.option(
    "--kafka",
    is_flag=True,
    help="Produce the events onto the input topics and collect the decisions of a running "
    "worker instead of deciding here (the worker's policy decides).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    help="With --kafka: seconds to wait for every decision.",
)
@kafka_options
def replay(
    events: IO[str],
    policy: Path | None,
    out: IO[str],
    kafka: bool,
    timeout: float,
    **flags: Any,
) -> None:
    """Replay EVENTS (JSON lines, `-` for stdin) and write one decision per recommendation.

    Each line is a JSON object with "type" (purchase, location, browsing, profile,
    recommendation) and that record's fields. Lines apply in file order; decisions come out
    in input order. A malformed line is reported on stderr with its line number and the run
    goes on; the exit status is 1 when any line was rejected. A summary of decisions by action
    and by reason goes to stderr.
    """
    if kafka:
        source = click.get_current_context().get_parameter_source("policy")
        if source is click.core.ParameterSource.COMMANDLINE:
            raise click.UsageError(
                "--policy does not apply with --kafka: the worker's policy decides"
            )
        _replay_kafka(events, out, timeout, settings_from(flags))
        return
    replayer = Replayer(load_policy(policy))
    for decision in replayer.replay_lines(events):
        out.write(decision_to_json(decision))
        out.write("\n")
    out.flush()
    summary = replayer.summary
    for number, reason in summary.rejected:
        click.echo(f"{events.name}:{number}: rejected: {reason}", err=True)
    print_summary(summary, sys.stderr)
    if summary.rejected:
        sys.exit(EXIT_REJECTED)


def _replay_kafka(events: IO[str], out: IO[str], timeout: float, settings: Settings) -> None:
    from guardrail.kafka.replay import replay_to_kafka

    def progress(stage: str, done: int, total: int) -> None:
        click.echo(f"\r{stage} {done}/{total}", err=True, nl=False)

    try:
        result = replay_to_kafka(events, settings, timeout_s=timeout, progress=progress)
    finally:
        click.echo("", err=True)  # ends the progress line
    summary = ReplaySummary(events=result.events, rejected=result.rejected)
    for decision in result.decisions:
        summary.count(decision)
        out.write(decision_to_json(decision))
        out.write("\n")
    out.flush()
    for number, reason in summary.rejected:
        click.echo(f"{events.name}:{number}: rejected: {reason}", err=True)
    print_summary(summary, sys.stderr)
    if summary.rejected:
        sys.exit(EXIT_REJECTED)
