"""`guardrail policy show|validate|diff`: the effective policy, a CI check, a key-by-key diff."""

from __future__ import annotations

import json
import sys

import click

from guardrail.errors import PolicyError
from guardrail.tools.policy_doc import effective, label, load_named, policy_changes, to_yaml

EXIT_INVALID = 1
EXIT_DIFFERENT = 1

POLICY_ARG = click.argument("policy", default="default", metavar="POLICY")


@click.group(name="policy", short_help="Show, check or compare policy files.")
def policy_group() -> None:
    """Inspect policy files: POLICY is a YAML file or `default` (the contract's policy)."""


@policy_group.command()
@POLICY_ARG
@click.option("--json", "as_json", is_flag=True, help="JSON instead of YAML.")
def show(policy: str, as_json: bool) -> None:
    """Print the effective policy (the file merged over the defaults) and its version."""
    loaded = load_named(policy)
    if as_json:
        doc = {"policy_version": loaded.version, "policy": effective(loaded)}
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(to_yaml(loaded), nl=False)


@policy_group.command()
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; the exit status says it.")
def validate(policies: tuple[str, ...], quiet: bool) -> None:
    """Check policy files, for the CI of a policy repository.

    Exit status 0 when every file is valid, 1 when any is not (each problem printed on
    stderr with the file, the key and the reason).
    """
    failed = False
    for name in policies:
        try:
            loaded = load_named(name)
        except PolicyError as exc:
            failed = True
            if not quiet:
                click.echo(str(exc), err=True)
            continue
        if not quiet:
            click.echo(f"{label(name)}: valid, policy_version {loaded.version}")
    if failed:
        sys.exit(EXIT_INVALID)


@policy_group.command(name="diff")
@click.argument("a", metavar="POLICY_A")
@click.argument("b", metavar="POLICY_B")
def diff_cmd(a: str, b: str) -> None:
    """Key-by-key difference of two effective policies (`~` changed, `+` added, `-` removed).

    Exit status 0 when they are the same, 1 when they differ (as diff(1) does).
    """
    left, right = load_named(a), load_named(b)
    changes = policy_changes(left, right)
    click.echo(f"--- {label(a)} (policy_version {left.version})")
    click.echo(f"+++ {label(b)} (policy_version {right.version})")
    for change in changes:
        click.echo(change.line())
    if not changes:
        click.echo("no difference")
        return
    click.echo(f"{len(changes)} key(s) differ")
    sys.exit(EXIT_DIFFERENT)
