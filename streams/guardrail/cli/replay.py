"""`guardrail replay`: decide every recommendation of a JSONL event file, with no broker."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

import click

from guardrail.cli.options import kafka_options, settings_from
from guardrail.config import Settings
from guardrail.core.policy import load_policy
from guardrail.core.records import ACTIONS, decision_to_json
from guardrail.core.replay import MAX_LINE_BYTES, LineError, Replayer, ReplaySummary

EXIT_REJECTED = 1


def print_summary(summary: ReplaySummary, err: IO[str]) -> None:
    """Counts by action and by reason, and every rejected line, on ``err``."""
    print(
        f"replayed {summary.events} events: {summary.decisions} decisions, "
        f"{len(summary.rejected)} rejected lines",
        file=err,
    )
    for action in ACTIONS:
        print(f"  {action:<10} {summary.by_action.get(action, 0):>8}", file=err)
    if summary.by_reason:
        print("  reasons:", file=err)
        for reason, count in sorted(summary.by_reason.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"    {reason:<34} {count:>8}", file=err)


@click.command(short_help="Decide every recommendation of an event file, no broker.")
@click.argument("events", type=click.File("rb"))
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
    events: BinaryIO,
    policy: Path | None,
    out: IO[str],
    kafka: bool,
    timeout: float,
    **flags: Any,
) -> None:
    """Replay EVENTS (JSON lines, `-` for stdin) and write one decision per recommendation.

    Each line is a JSON object with "type" (purchase, location, browsing, profile,
    recommendation) and that record's fields. Lines apply in file order; decisions come out
    in input order. A malformed line (bad JSON, invalid UTF-8, a NUL byte, longer than 1 MiB,
    a binary file's) is reported on stderr with its line number and the run goes on; the exit
    status is 1 when any line was rejected. A summary of decisions by action
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
    for decision in replayer.replay_lines(read_lines(events)):
        out.write(decision_to_json(decision))
        out.write("\n")
    out.flush()
    summary = replayer.summary
    for number, reason in summary.rejected:
        click.echo(f"{events.name}:{number}: rejected: {reason}", err=True)
    print_summary(summary, sys.stderr)
    if summary.rejected:
        sys.exit(EXIT_REJECTED)


def read_lines(stream: BinaryIO, max_bytes: int = MAX_LINE_BYTES) -> Iterator[bytes | LineError]:
    """Each line's bytes, never holding more than ``max_bytes`` of one line in memory: an
    over-long line (or a binary file without newlines) becomes a :class:`LineError`."""
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        if len(line) <= max_bytes or line.endswith(b"\n"):
            yield line
            continue
        size = len(line)
        while not line.endswith(b"\n"):  # skip the rest of the line
            line = stream.readline(1 << 20)
            if not line:
                break
            size += len(line)
        yield LineError(f"line is {size:,} bytes, over the {max_bytes:,}-byte limit")


def _texts(events: BinaryIO, rejected: list[tuple[int, str]]) -> Iterator[str]:
    """The file's lines as text for --kafka; a bad one is noted and stays a blank line (so
    the numbers of the rest hold)."""
    from guardrail.core.replay import decode_line

    for number, line in enumerate(read_lines(events), start=1):
        try:
            if isinstance(line, LineError):
                raise line
            yield decode_line(line)
        except LineError as exc:
            rejected.append((number, str(exc)))
            yield ""


def _replay_kafka(events: BinaryIO, out: IO[str], timeout: float, settings: Settings) -> None:
    from guardrail.kafka.replay import replay_to_kafka

    def progress(stage: str, done: int, total: int) -> None:
        click.echo(f"\r{stage} {done}/{total}", err=True, nl=False)

    try:
        unreadable: list[tuple[int, str]] = []
        texts = list(_texts(events, unreadable))
        result = replay_to_kafka(texts, settings, timeout_s=timeout, progress=progress)
    finally:
        click.echo("", err=True)  # ends the progress line
    rejected = sorted([*result.rejected, *unreadable])
    summary = ReplaySummary(events=result.events, rejected=rejected)
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
