"""What the confluent runtime learns from delivery reports of refused records: a record refused
in a shared batch is sent alone next time; refused alone, it is dead-lettered; its dead letter
refused alone, it is only logged and counted; a failure that is not the record's changes
nothing; a commit forgets what it committed past."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from confluent_kafka import KafkaError
from prometheus_client import CollectorRegistry

from guardrail.config import Settings
from guardrail.metrics.metric_set import GuardrailMetrics
from guardrail.pipeline import InputRecord, OutputRecord
from guardrail.worker.confluent.refusals import Refusals
from guardrail.worker.confluent.runtime import ConfluentWorker

TOO_LARGE = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)


def record(offset: int) -> InputRecord:
    return InputRecord("recommendations.proposed", 1, offset, b"c-1", b"{}")


def output(source: InputRecord, kind: str = "approved") -> OutputRecord:
    return OutputRecord(kind, f"out.{kind}", b"c-1", b"x", None, source)  # type: ignore[arg-type]


class Collect:
    def __init__(self) -> None:
        self.sent: list[OutputRecord] = []

    def send(self, output: OutputRecord) -> None:
        self.sent.append(output)


class FakePipeline:
    def __init__(self) -> None:
        self.skipped: list[InputRecord] = []
        self.done: list[InputRecord] = []

    def refuse(self, record: InputRecord, rejected: object) -> OutputRecord:
        return output(record, "deadletter")

    def skip(self, record: InputRecord) -> None:
        self.skipped.append(record)

    def finished(self, record: InputRecord) -> None:
        self.done.append(record)


def refusals() -> tuple[Refusals, GuardrailMetrics]:
    metrics = GuardrailMetrics(CollectorRegistry())
    return Refusals(metrics), metrics


def test_refused_in_a_shared_batch_the_record_is_sent_alone_and_nothing_is_redone() -> None:
    known, _ = refusals()
    first = output(record(7))
    assert not known.alone(first)
    known.delivered(first, False, TOO_LARGE)
    assert known.alone(output(record(7))) and not known.alone(output(record(8)))
    assert not known.failed  # the checkpoint's commit fails and redoes it


def test_refused_alone_the_record_is_dead_lettered_on_the_redo() -> None:
    known, _ = refusals()
    source = record(7)
    known.delivered(output(source), True, TOO_LARGE)
    assert known.failed
    again = record(7)  # read again after the rewind
    pipeline, sent = FakePipeline(), Collect()
    assert known.refused_before(again, pipeline, sent)  # type: ignore[arg-type]
    assert [o.kind for o in sent.sent] == ["deadletter"] and pipeline.done == [again]
    assert "send_failed: the broker refused its approved record" in known.refused[(
        "recommendations.proposed", 1, 7)]  # fmt: skip
    assert not known.refused_before(record(8), pipeline, sent)  # type: ignore[arg-type]


def test_a_refused_dead_letter_is_logged_with_its_position_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    known, metrics = refusals()
    known.delivered(output(record(7), "deadletter"), True, TOO_LARGE)
    pipeline, sent = FakePipeline(), Collect()
    with caplog.at_level(logging.ERROR):
        assert known.refused_before(record(7), pipeline, sent)  # type: ignore[arg-type]
    assert sent.sent == [] and len(pipeline.skipped) == 1
    assert "recommendations.proposed[1]@7 was refused too" in caplog.text
    unsent = metrics.registry.get_sample_value(
        "guardrail_dead_letters_unsent_total",
        {"topic": "recommendation", "error_kind": "send_failed"},
    )
    assert unsent == 1
    assert known.refused_before(record(7), pipeline, sent)  # type: ignore[arg-type]
    assert len(pipeline.skipped) == 2  # a redo: finished again, not counted again
    assert (
        metrics.registry.get_sample_value(
            "guardrail_dead_letters_unsent_total",
            {"topic": "recommendation", "error_kind": "send_failed"},
        )
        == 1
    )


def test_other_failures_are_not_the_records_and_a_commit_forgets_what_it_passed() -> None:
    known, _ = refusals()
    known.delivered(output(record(7)), True, KafkaError(KafkaError._MSG_TIMED_OUT))
    known.delivered(output(record(8)), True, None)
    assert not known.seen()
    known.delivered(output(record(9)), False, TOO_LARGE)
    known.delivered(output(record(10)), True, TOO_LARGE)
    assert known.seen()
    # Another partition's progress committed: nothing of this one is forgotten.
    known.committed({("recommendations.proposed", 0): (50, None)})
    assert known.alone(output(record(9))) and known.alone(output(record(10)))
    known.committed({("recommendations.proposed", 1): (10, None)})
    assert not known.alone(output(record(9))) and known.alone(output(record(10)))
    known.committed({("recommendations.proposed", 1): (11, None)})
    assert not known.seen()


def test_a_redone_checkpoint_counts_each_dead_letter_once(tmp_path: Path) -> None:
    """A redo reads again what the aborted transaction held and dead-letters the same records
    again: they are counted once, when the checkpoint that holds them commits."""
    worker = ConfluentWorker(Settings(data_dir=tmp_path))
    bad = InputRecord("recommendations.proposed", 1, 6, b"c-1", b"not json")
    refused, dropped = record(7), record(8)
    known = worker.refusals
    known.delivered(output(refused), True, TOO_LARGE)  # its decision refused alone
    known.delivered(output(dropped, "deadletter"), True, TOO_LARGE)  # and its dead letter too

    def counted(kind: str, name: str = "guardrail_dead_letters_total") -> float | None:
        labels = {"topic": "recommendation", "error_kind": kind}
        return worker.metrics.registry.get_sample_value(name, labels)

    for attempt in range(3):  # two checkpoints aborted, the third commits
        worker.pipeline.forget()
        assert worker.pipeline.read(bad) is not None  # dead-lettered on every pass
        assert known.refused_before(refused, worker.pipeline, Collect())  # type: ignore[arg-type]
        assert known.refused_before(dropped, worker.pipeline, Collect())  # type: ignore[arg-type]
        assert counted("not_json_or_avro") == 0 and counted("send_failed") == 0
        if attempt < 2:
            worker.metrics.aborted()
    worker.metrics.committed()
    assert counted("not_json_or_avro") == 1
    assert counted("send_failed") == 2  # the refused record's and the dropped one's
    assert counted("send_failed", "guardrail_dead_letters_unsent_total") == 1
    dead_lettered = worker.metrics.registry.get_sample_value(
        "guardrail_events_total", {"topic": "recommendation", "outcome": "dead_lettered"}
    )
    assert dead_lettered == 3
