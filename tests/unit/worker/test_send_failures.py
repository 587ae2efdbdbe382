"""A send that fails for good stops the worker unless only its record was refused, and its
warning quotes no customer data."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka.errors import (
    InvalidTimestampError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    TopicAuthorizationFailedError,
)
from faust.exceptions import ProducerSendError

from guardrail.worker.send_failures import RedactSendErrors, StopOnSendError, refused


def test_faust_send_error_warning_loses_the_message_contents() -> None:
    text = (
        "_on_published error for message topic guardrail.recommendations.approved "
        "error KafkaTimeoutError message <FutureMessage: key=b'c-000123' value=b'Hi Emma'>"
    )
    record = logging.LogRecord("faust.topics", logging.WARNING, __file__, 1, text, (), None)
    assert RedactSendErrors().filter(record)
    shown = record.getMessage()
    assert "c-000123" not in shown and "Emma" not in shown
    assert "guardrail.recommendations.approved" in shown


def test_other_faust_warnings_pass_unchanged() -> None:
    record = logging.LogRecord("faust.topics", logging.WARNING, __file__, 1, "x %s", ("y",), None)
    assert RedactSendErrors().filter(record)
    assert record.getMessage() == "x y"


class FakeApp:
    def __init__(self) -> None:
        self.crashed: list[BaseException] = []

    async def crash(self, reason: BaseException) -> None:
        self.crashed.append(reason)


def test_a_failed_send_crashes_the_app() -> None:
    async def scenario() -> list[BaseException]:
        app: Any = FakeApp()
        sensor = StopOnSendError(app)
        error = TimeoutError("no broker for 20 minutes")
        sensor.on_send_error(producer=None, exc=error, state=None)
        await asyncio.sleep(0)
        assert sensor.failures == 1
        return list(app.crashed)

    crashed = asyncio.run(scenario())
    assert len(crashed) == 1 and isinstance(crashed[0], TimeoutError)


def test_a_refused_record_does_not_crash_the_app() -> None:
    async def scenario() -> list[BaseException]:
        app: Any = FakeApp()
        sensor = StopOnSendError(app)
        sensor.on_send_error(producer=None, exc=MessageSizeTooLargeError(), state=None)
        await asyncio.sleep(0)
        assert sensor.failures == 1
        return list(app.crashed)

    assert asyncio.run(scenario()) == []


def test_refusals_of_one_record_are_told_from_other_failures() -> None:
    wrapped = ProducerSendError("Error while sending")
    wrapped.__cause__ = MessageSizeTooLargeError()
    assert refused(MessageSizeTooLargeError()) and refused(wrapped)
    assert refused(RecordListTooLargeError()) and refused(InvalidTimestampError())
    assert not refused(TopicAuthorizationFailedError()) and not refused(KafkaTimeoutError())
    assert not refused(ProducerSendError("Error while sending"))
