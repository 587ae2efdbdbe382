"""The workers' garbage-collector setting: fewer young-generation passes, start-up frozen."""

from __future__ import annotations

import gc

from guardrail.worker.run import GC_THRESHOLD, gc_tuned


def test_the_collector_runs_less_often_while_tuned_and_as_before_afterwards() -> None:
    before = gc.get_threshold()
    leftover = [[n] for n in range(1000)]  # tracked objects alive at "start-up"
    with gc_tuned():
        assert gc.get_threshold()[0] == GC_THRESHOLD
        assert gc.get_freeze_count() >= len(leftover)  # out of the collector's view
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
