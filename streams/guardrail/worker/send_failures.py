"""What the worker does when Kafka refuses a send for good (after the producer's retries).

A refusal of one record (:func:`refused`: larger than the topic or the client allows, or a
timestamp the topic does not take) is the runtime's to handle: it dead-letters that input
record and goes on (``guardrail.worker.faust_sends``). Any other failure (authorization, a
broker away for longer than the producer's request timeout) is not the record's: faust would
only log it (``Topic._on_published``: a warning, then the next commit goes ahead), so the
decision or state write would be lost once its input offset is committed; and that warning
prints the whole message, customer data included. Here the warning loses the message's
contents, and the worker stops at once, unclean: what it had not committed is read again by
the partition's next owner (or by itself after its restart).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from aiokafka.errors import (
    InvalidTimestampError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
)
from faust.exceptions import ProducerSendError

from guardrail.worker.faust_compat import SEND_ERROR_PREFIX

log = logging.getLogger(__name__)

FAUST_TOPICS_LOGGER = "faust.topics"
#: The broker's (or the client's) refusals of one record: sent alone, it is refused again.
REFUSALS = (MessageSizeTooLargeError, RecordListTooLargeError, InvalidTimestampError)


def refused(exc: BaseException) -> bool:
    """Whether ``exc`` refuses the record itself (faust wraps the client's own errors)."""
    if isinstance(exc, ProducerSendError) and exc.__cause__ is not None:
        exc = exc.__cause__
    return isinstance(exc, REFUSALS)


class RedactSendErrors(logging.Filter):
    """Keep faust's send-error warning, without the message it failed to send."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        if text.startswith(SEND_ERROR_PREFIX):
            # "_on_published error for message topic T error E message M": the error text E
            # may quote the record too; its type is logged by StopOnSendError.
            words = text.split(" ", 6)
            topic = words[5] if len(words) > 5 else "?"
            record.msg = f"{SEND_ERROR_PREFIX} for message topic {topic} (error, message redacted)"
            record.args = ()
        return True


class StopOnSendError(faust.Sensor):
    """Crash the app on the first send that failed for good, unless it refused only its
    record (see the module's docstring)."""

    def __init__(self, app: faust.App, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.guarded_app = app
        self.failures = 0
        self.crashing: asyncio.Future[None] | None = None

    def on_send_error(self, producer: Any, exc: BaseException, state: Any) -> None:
        self.failures += 1
        if refused(exc):
            return  # the runtime dead-letters the record and goes on
        log.error("a send failed after its retries (%s): stopping the worker", type(exc).__name__)
        if self.crashing is None:  # once: every later failure is the same verdict
            self.crashing = asyncio.ensure_future(self.guarded_app.crash(exc))


def install(app: faust.App) -> None:
    logging.getLogger(FAUST_TOPICS_LOGGER).addFilter(RedactSendErrors())
    app.sensors.add(StopOnSendError(app))
