"""The guardrail's exceptions: one root, one class per area.

Every failure the guardrail expects (a bad policy, bad settings, a bad input line, topics it
cannot use, a broker it cannot reach ...) is a :class:`GuardrailError` whose message is one
line a user can act on. The command line maps these classes to exit codes and prints the
message, never a traceback (``guardrail.cli.errors``). Narrower classes live beside the code
that raises them and derive from one of the areas here.

This module imports nothing, so that every layer, the pure core included, can use it.
"""

from __future__ import annotations


class GuardrailError(Exception):
    """An expected failure, said in one line.

    ``detail`` is optional text shown after that line (a child process's log tail, say).
    """

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail


class PolicyError(GuardrailError, ValueError):
    """A policy file that cannot be used; the message names the file, the key and the problem."""


class ConfigError(GuardrailError, ValueError):
    """Settings (GUARDRAIL_* variables or flags) that cannot be used."""


class InputError(GuardrailError, ValueError):
    """An input record or line that is not what the contract says."""


class TopicError(GuardrailError):
    """The topics cannot be used as they are; the message says what to do."""


class KafkaUnavailable(GuardrailError):
    """Kafka (or the schema registry) did not answer, or not in time."""


class AuditError(GuardrailError):
    """An audit could not run to the end (a topic is missing, the broker is unreachable ...)."""


class LocalStackError(GuardrailError):
    """The local dev stack (Kafka, the registry, their JVM and downloads) cannot do it."""


class ProcessFailed(GuardrailError):
    """A child process (a worker, a benchmark's passthrough) failed to start or died."""
