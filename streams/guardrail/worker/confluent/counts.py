"""The confluent worker's metrics: dead letters counted when their checkpoint commits.

An aborted checkpoint (a refused send, lost partitions) is redone from the last commit, and
the pipeline dead-letters the same records again. So the dead letters of the open
transaction wait here: counted once it commits, dropped when it aborts. Each committed dead
letter is counted once in ``guardrail_dead_letters_total`` (and as ``dead_lettered`` in
``guardrail_events_total``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from guardrail.metrics.metric_set import GuardrailMetrics


class CheckpointMetrics(GuardrailMetrics):
    """:class:`GuardrailMetrics` with dead letters counted by :meth:`committed`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__(registry)
        self.pending: list[tuple[str, str]] = []  # the open transaction's dead letters

    def record_dead_letter(self, topic: str, error_kind: str) -> None:
        self.pending.append((topic, error_kind))

    def committed(self) -> None:
        """The open transaction committed: count its dead letters."""
        for topic, error_kind in self.pending:
            super().record_dead_letter(topic, error_kind)
        self.pending.clear()

    def aborted(self) -> None:
        """The open transaction aborted: its records are read and dead-lettered again."""
        self.pending.clear()
