"""The faust runtime's sends: each output record through faust's producer, and the input
record finished (acknowledged in offset order) only once the broker acknowledged every output
of it, so no input offset is committed ahead of its decision or dead letter.

A send the broker refuses for that record alone (larger than the topic's
``max.message.bytes``, say: :func:`~guardrail.worker.send_failures.refused`) does not stop the
partition. aiokafka fails a whole batch with that error, so the record is first sent again
alone (the producer flushed, other sends waiting): the records that only shared its batch get
through then. Refused alone too, its input record is dead-lettered (``send_failed``); and if
even the dead letter is refused, its position is logged and counted
(``guardrail_dead_letters_unsent_total``), the input record acknowledged all the same. Any
other failure stops the worker (``send_failures.StopOnSendError``): the record is read again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

import faust

from guardrail.metrics.metric_set import GuardrailMetrics
from guardrail.pipeline import InputRecord, OutputRecord, Pipeline
from guardrail.pipeline.validate import Rejected
from guardrail.worker.send_failures import refused

log = logging.getLogger(__name__)

SEND_FAILED = "send_failed"


class FaustSender:
    """Sends output records; finishes their input records once the broker has them."""

    def __init__(
        self,
        app: faust.App,
        topics: dict[str, Any],
        pipeline: Pipeline,
        metrics: GuardrailMetrics,
    ) -> None:
        self.app = app
        self.topics = topics  # Kafka topic -> faust Topic, built once
        self.pipeline = pipeline
        self.metrics = metrics
        # Sends and retries not completed yet (what settle() waits for).
        self.unsettled: set[asyncio.Future[Any]] = set()
        # Cleared while a refused record is sent again alone: other sends wait.
        self.open = asyncio.Event()
        self.open.set()
        self.alone = asyncio.Lock()  # one retry at a time
        # Bumped when partitions move: a delivery from before finishes nothing (its record
        # was forgotten and is read again from the committed offset).
        self.generation = 0
        self.crashing: asyncio.Future[None] | None = None

    async def send(self, outputs: list[OutputRecord], record: InputRecord) -> None:
        """Send ``outputs``; ``record`` is finished once all of them are delivered."""
        if not outputs:
            self.pipeline.finished(record)
            return
        remaining = [len(outputs)]
        generation = self.generation

        def one_done() -> None:
            remaining[0] -= 1
            if remaining[0] == 0 and generation == self.generation:
                self.pipeline.finished(record)

        for output in outputs:
            if not self.open.is_set():
                await self.open.wait()
            try:
                future = await self._produce(output)
            except Exception as exc:  # refused before it left (too large for the client)
                if not refused(exc):
                    raise
                self._spawn(self._dead_letter(record, output, exc), one_done)
                continue
            self.unsettled.add(future)
            future.add_done_callback(
                partial(self._delivered, output=output, record=record, done=one_done)
            )

    async def _produce(self, output: OutputRecord) -> asyncio.Future[Any]:
        """Hand ``output`` to the producer; returns the client's future of the broker's answer
        (it always completes: acknowledged, failed, or cancelled when the producer stops)."""
        # faust's own future of a failed send is never retrieved: asyncio logs that once per
        # refused record (its repr names the error, not the record's contents).
        sent: asyncio.Future[Any] = await self.topics[output.topic].send(
            key=output.key,
            value=output.value,
            headers=output.headers,
            key_serializer="raw",
            value_serializer="raw",
        )
        return sent

    def _delivered(
        self,
        future: asyncio.Future[Any],
        output: OutputRecord,
        record: InputRecord,
        done: Callable[[], None],
    ) -> None:
        self.unsettled.discard(future)
        if future.cancelled():
            return  # the producer stopped: the record is read again
        exc = future.exception()
        if exc is None:
            done()
        elif refused(exc):
            self._spawn(self._alone(record, output), done)
        # else: StopOnSendError stops the worker; the record is read again

    def _spawn(self, work: Coroutine[Any, Any, bool], done: Callable[[], None]) -> None:
        """Run ``work`` as a task (settle() waits for it); ``done`` when it returns True."""
        task = asyncio.ensure_future(work)
        self.unsettled.add(task)

        def finished(task: asyncio.Future[bool]) -> None:
            self.unsettled.discard(task)
            if task.cancelled():
                return
            exc = task.exception()
            if exc is None:
                if task.result():
                    done()
                return
            # Not a refusal: as any send that failed for good, it stops the worker, unclean
            # (the record is read again).
            log.error("a send failed after its retries (%s): stopping the worker", _name(exc))
            if self.crashing is None:
                self.crashing = asyncio.ensure_future(self.app.crash(exc))

        task.add_done_callback(finished)

    async def _alone(self, record: InputRecord, output: OutputRecord) -> bool:
        """Send ``output`` again with nothing else in its batch; dead-letter ``record`` if
        the broker refuses it alone too. True when ``record`` may be finished."""
        async with self.alone:
            self.open.clear()
            try:
                await self.app.producer.flush()  # the batches it could join are gone
                try:
                    await self._wait(self._produce(output))
                except Exception as exc:
                    if not refused(exc):
                        raise
                    return await self._dead_letter(record, output, exc)
                return True
            finally:
                self.open.set()

    @staticmethod
    async def _wait(producing: Awaitable[asyncio.Future[Any]]) -> Any:
        return await (await producing)

    async def _dead_letter(
        self, record: InputRecord, output: OutputRecord, exc: BaseException
    ) -> bool:
        """Dead-letter ``record`` because its ``output`` was refused; True (finish it) when the
        dead letter was delivered or was refused as well."""
        why = f"{SEND_FAILED}: the broker refused its {output.kind} record ({_name(exc)})"
        letter = self.pipeline.dead_letter(record, Rejected(SEND_FAILED, why))
        try:
            await self._wait(self._produce(letter))
        except Exception as again:
            if not refused(again):
                raise
            where = (record.topic, record.partition, record.offset)
            log.error(
                "the dead letter of %s[%d]@%d was refused too (%s): nothing of the record is "
                "kept; going on",
                *where,
                _name(again),
            )
            self.metrics.record_unsent_dead_letter(record.topic, SEND_FAILED)
        return True

    async def settle(self, timeout: float | None = None) -> bool:
        """Wait until every send (and retry) so far completed and finished its record; False
        when ``timeout`` passed first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self.unsettled:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return False
            await asyncio.wait(set(self.unsettled), timeout=left)
        return True

    def forget(self) -> None:
        """Partitions moved: deliveries still to come finish nothing."""
        self.generation += 1


def _name(exc: BaseException) -> str:
    """The error's type, or its cause's (faust wraps the client's errors)."""
    cause = exc.__cause__
    return type(cause).__name__ if cause is not None else type(exc).__name__
