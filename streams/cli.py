"""The ``guardrail`` command. Each subcommand lives in the module that does its work."""

from __future__ import annotations

import click

from streams.audit import audit_cmd
from streams.bench.cli import bench
from streams.demo import demo
from streams.generate import generate
from streams.kafka_local_cmd import kafka, registry
from streams.replay_cmd import replay
from streams.soak import soak
from streams.worker_cmd import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="personalization-guardrail")
def main() -> None:
    """Personalization guardrail: deliver, rewrite or suppress recommendations, saying why.

    Start with `guardrail demo`. Replay a file with `guardrail replay EVENTS.jsonl`.
    """


main.add_command(replay)
main.add_command(generate)
main.add_command(kafka)
main.add_command(registry)
main.add_command(worker)
main.add_command(demo)
main.add_command(audit_cmd)
main.add_command(bench)
main.add_command(soak)
