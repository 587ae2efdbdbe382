"""The one place where failures become exit codes and one-line messages.

Every command runs inside :class:`GuardedGroup`: an expected failure (a
:class:`~guardrail.errors.GuardrailError`, a Kafka client error, Ctrl-C) ends the command
with ``Error: <one line>`` on stderr and its exit code, never with a traceback. Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import IO, Any

import click
from confluent_kafka import KafkaException

from guardrail.errors import AuditError, GuardrailError

EXIT_FAILED = 1  # an expected failure: bad policy, settings, topics, a broker that is down
EXIT_CANNOT_AUDIT = 2  # `guardrail audit` could not run (1 means it found a problem)
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM, as a shell reports SIGINT

#: Exception class -> exit code; the first match wins, so narrower classes come first.
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (AuditError, EXIT_CANNOT_AUDIT),
    (GuardrailError, EXIT_FAILED),
    (KafkaException, EXIT_FAILED),
)


class CommandFailed(click.ClickException):
    """``Error: <message>`` (then ``detail``, if any) on stderr; exit with ``exit_code``."""

    def __init__(self, message: str, exit_code: int, detail: str | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.detail = detail

    def show(self, file: IO[Any] | None = None) -> None:
        super().show(file)
        if self.detail:
            click.echo(self.detail, err=True)


class Interrupted(click.ClickException):
    exit_code = EXIT_INTERRUPTED

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.message, err=True)


def failure_for(exc: BaseException) -> click.ClickException | None:
    """What the command line shows for ``exc``; None for an exception that is a bug."""
    if isinstance(exc, KeyboardInterrupt):
        return Interrupted("interrupted")
    for kind, code in EXIT_CODES:
        if isinstance(exc, kind):
            message, _, rest = _message(exc).partition("\n")
            detail = getattr(exc, "detail", None) or rest or None
            return CommandFailed(message, code, detail)
    return None


def _message(exc: BaseException) -> str:
    if isinstance(exc, KafkaException):
        error = exc.args[0] if exc.args else exc
        text = error.str() if hasattr(error, "str") else str(error)
        return f"Kafka: {text}"
    return str(exc) or type(exc).__name__


class GuardedGroup(click.Group):
    """A click group whose commands (and subgroups) all fail through :func:`failure_for`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BaseException as exc:
            failure = failure_for(exc)
            if failure is None:
                raise
            raise failure from None
