"""The ``guardrail`` command: one module per subcommand in this folder; the work is done
by the tools, the worker and the generator they call with plain arguments."""

from __future__ import annotations

import click

from guardrail.cli.audit import audit
from guardrail.cli.bench import bench
from guardrail.cli.config import config
from guardrail.cli.demo import demo
from guardrail.cli.devstack import kafka, registry
from guardrail.cli.diff import diff_cmd
from guardrail.cli.errors import GuardedGroup
from guardrail.cli.explain import explain_cmd
from guardrail.cli.export import export_cmd
from guardrail.cli.generate import generate
from guardrail.cli.ingest import ingest
from guardrail.cli.policy import policy_group
from guardrail.cli.replay import replay
from guardrail.cli.report import report_cmd
from guardrail.cli.soak import soak
from guardrail.cli.worker import worker


@click.group(
    cls=GuardedGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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
main.add_command(audit)
main.add_command(bench)
main.add_command(soak)
main.add_command(policy_group)
main.add_command(diff_cmd)
main.add_command(report_cmd)
main.add_command(export_cmd)
main.add_command(explain_cmd)
main.add_command(config)
main.add_command(ingest)
