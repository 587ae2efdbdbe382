"""Golden replay files: the record of what the product decides.

Each ``NAME.events.jsonl`` is replayed with the default policy and must give exactly the
decisions in ``NAME.expected.jsonl``, byte for byte. After an intended change of behaviour,
regenerate with ``guardrail replay NAME.events.jsonl --out NAME.expected.jsonl`` and review
the diff: it is the change in what customers get.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guardrail.core.policy import default_policy
from guardrail.core.records import decision_to_json
from guardrail.core.replay import Replayer

GOLDEN = Path(__file__).parent
CASES = sorted(p.name.removesuffix(".events.jsonl") for p in GOLDEN.glob("*.events.jsonl"))


def replay_file(path: Path) -> list[str]:
    replayer = Replayer(default_policy())
    with path.open(encoding="utf-8") as lines:
        decisions = [decision_to_json(d) for d in replayer.replay_lines(lines)]
    assert replayer.summary.rejected == []
    return decisions


@pytest.mark.parametrize("case", CASES)
def test_replay_gives_the_recorded_decisions(case: str) -> None:
    got = replay_file(GOLDEN / f"{case}.events.jsonl")
    expected = (GOLDEN / f"{case}.expected.jsonl").read_text(encoding="utf-8").splitlines()
    for number, (g, e) in enumerate(zip(got, expected, strict=False), start=1):
        if g != e:
            gd, ed = json.loads(g), json.loads(e)
            pytest.fail(
                f"{case}: decision {number} ({ed['rec_id']}) differs:\n"
                f"  expected {ed['action']} {[r['code'] for r in ed['reasons']]}\n"
                f"  got      {gd['action']} {[r['code'] for r in gd['reasons']]}\n"
                f"  expected: {e}\n  got:      {g}"
            )
    assert len(got) == len(expected)


def test_golden_files_cover_every_reason_code_firing() -> None:
    from guardrail.core.reasons import REASON_CODES

    fired = set()
    for case in CASES:
        for line in (GOLDEN / f"{case}.expected.jsonl").read_text().splitlines():
            fired.update(r["code"] for r in json.loads(line)["reasons"])
    assert fired == set(REASON_CODES)


def test_golden_files_show_every_action() -> None:
    actions = set()
    for case in CASES:
        for line in (GOLDEN / f"{case}.expected.jsonl").read_text().splitlines():
            actions.add(json.loads(line)["action"])
    assert actions == {"deliver", "rewrite", "suppress"}
