"""The pipeline's loop for a synchronous runtime (a runtime on asyncio awaits the same steps).

``send`` hands a record to the producer; ``commit_now`` commits every acknowledged offset
(before an erasure); ``paused`` says when to stop releasing (partitions are moving: what
was not decided is read again from the committed offsets).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from guardrail.pipeline.ports import Send
from guardrail.pipeline.processor import Pipeline
from guardrail.pipeline.records import InputRecord
from guardrail.pipeline.validate import RetryLater


def _never() -> bool:
    return False


def feed(
    pipeline: Pipeline,
    record: InputRecord,
    send: Send,
    commit_now: Callable[[], object],
    paused: Callable[[], bool] = _never,
) -> None:
    """Read ``record``, then decide what its partition may release."""
    if read(pipeline, record, send):
        release(pipeline, record.partition, send, commit_now, paused)


def read(pipeline: Pipeline, record: InputRecord, send: Send) -> bool:
    """``Pipeline.read``, pausing while the schema registry is unavailable; a dead letter is
    sent and its record finished. True when the record is held."""
    attempt = 0
    while True:
        try:
            letter = pipeline.read(record, attempt)
            break
        except RetryLater as retry:
            time.sleep(retry.delay_s)
            attempt += 1
    if letter is None:
        return True
    send.send(letter)
    pipeline.finished(record)
    return False


def release_all(
    pipeline: Pipeline,
    send: Send,
    commit_now: Callable[[], object],
    paused: Callable[[], bool] = _never,
) -> int:
    """``release`` for every partition with held events; how many were decided."""
    done = sum(release(pipeline, p, send, commit_now, paused) for p in pipeline.holding())
    pipeline.warn_long_holds()
    return done


def release(
    pipeline: Pipeline,
    partition: int,
    send: Send,
    commit_now: Callable[[], object],
    paused: Callable[[], bool] = _never,
) -> int:
    """Decide, send and acknowledge every event ``partition`` may release now; how many."""
    if paused():
        return 0
    done = 0
    for held in pipeline.release(partition):
        if paused():
            break  # the rest is read again from the committed offset afterwards
        if held.commit_first:
            commit_now()
        for output in pipeline.process(held):
            send.send(output)
        pipeline.finished(held.record)
        done += 1
    return done
