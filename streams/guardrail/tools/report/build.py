"""From a file to a written report: what `guardrail report`, `diff --html` and the demo call."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from guardrail.core.policy import Policy
from guardrail.tools.diff import DiffResult
from guardrail.tools.outcomes import Kind, Rejected, outcomes, sniff
from guardrail.tools.report.aggregate import Masker, ReportData, aggregate
from guardrail.tools.report.render import render_diff, render_report, write


@dataclass
class Built:
    kind: Kind
    data: ReportData
    rejected: Rejected


def holdout_percent(policy: Policy) -> float | None:
    """The policy's holdout share in percent, when the policy has a holdout at all."""
    holdout = getattr(policy, "holdout", None)
    percent = getattr(holdout, "percent", None)
    return float(percent) if percent else None


def build_report(
    source: Path,
    out: Path,
    policy: Policy,
    *,
    policy_label: str,
    show_customer_ids: bool = False,
    samples: int = 12,
) -> Built:
    """Read ``source`` (events, replayed with ``policy``, or decisions) and write ``out``."""
    kind = sniff(source)
    rejected = Rejected()
    masker = Masker(show_customer_ids)
    with source.open(encoding="utf-8") as handle:
        data = aggregate(outcomes(handle, kind, policy, rejected), masker, samples)
    label = policy_label if kind == "events" else "as recorded in the decisions"
    html = render_report(
        data,
        masker,
        source=str(source),
        policy_label=label,
        holdout_percent=holdout_percent(policy) if kind == "events" else None,
    )
    write(out, html)
    return Built(kind, data, rejected)


def write_demo_report(data_dir: Path, policy: Policy) -> Path:
    """`guardrail demo`'s last step: the report of its dataset, beside it."""
    out = data_dir / "report.html"
    build_report(data_dir / "events.jsonl", out, policy, policy_label="the demo's policy")
    return out


def write_diff(result: DiffResult, out: Path, source: str, show_customer_ids: bool) -> None:
    write(out, render_diff(result, Masker(show_customer_ids), source=source))


def summary_lines(data: ReportData) -> Iterable[str]:
    total = data.decisions
    parts = ", ".join(f"{a} {n:,}" for a, n in sorted(data.by_action.items()))
    yield f"{total:,} decisions ({parts})"
