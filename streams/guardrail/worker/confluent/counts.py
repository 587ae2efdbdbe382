"""The confluent worker's metrics: counted when their checkpoint commits.

An aborted checkpoint (a refused send, lost partitions) is redone from the last commit, and
the pipeline decides, counts and dead-letters the same records again. So the counts of the
open transaction wait here: applied once it commits, dropped when it aborts. Each committed
decision, event and dead letter is counted once. Waiting, equal counts are summed (a
decision's labels, an event's topic and outcome): one increment per label set and
checkpoint instead of a locked increment per counter and record.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from guardrail.metrics.metric_set import DecisionLabels, GuardrailMetrics


class CheckpointMetrics(GuardrailMetrics):
    """:class:`GuardrailMetrics` with the open transaction's counts applied by
    :meth:`committed`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__(registry)
        self.pending: list[tuple[str, str]] = []  # the open transaction's dead letters
        self.decisions_pending: dict[DecisionLabels, int] = {}
        self.latencies: list[tuple[float, float]] = []  # (decision latency, event-time lag)
        self.events_pending: dict[tuple[str, str], int] = {}

    def add_decision(self, labels: DecisionLabels, latency_s: float, lag_s: float) -> None:
        pending = self.decisions_pending
        pending[labels] = pending.get(labels, 0) + 1
        self.latencies.append((latency_s, lag_s))

    def record_event(self, topic: str, outcome: str) -> None:
        key = (topic, outcome)
        pending = self.events_pending
        pending[key] = pending.get(key, 0) + 1

    def record_dead_letter(self, topic: str, error_kind: str) -> None:
        self.pending.append((topic, error_kind))

    def committed(self) -> None:
        """The open transaction committed: count what it holds."""
        for labels, n in self.decisions_pending.items():
            self.count_decisions(labels, n)
        for latency_s, lag_s in self.latencies:
            self.observe_decision(latency_s, lag_s)
        for (topic, outcome), n in self.events_pending.items():
            self.count_events(topic, outcome, n)
        for topic, error_kind in self.pending:
            super().record_dead_letter(topic, error_kind)
        self.aborted()

    def aborted(self) -> None:
        """The open transaction aborted (or was counted): its records are read again."""
        self.pending.clear()
        self.decisions_pending.clear()
        self.latencies.clear()
        self.events_pending.clear()
