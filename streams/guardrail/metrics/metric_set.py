"""The guardrail's Prometheus metrics: one named set built on an injected registry.

Every label value comes from a closed set (the contract's enums, the policy's reason codes,
the logical topic names, a fixed list of error kinds); anything else becomes ``other``. That
is enforced here, in code, so no customer id, name, SKU, search query or place can ever become
a label, whatever the caller passes.

The worker calls, per consumed event, exactly one of:

- :meth:`GuardrailMetrics.record_decision` for a recommendation that got a decision,
- :meth:`GuardrailMetrics.record_dead_letter` for a record sent to the dead-letter topic,
- :meth:`GuardrailMetrics.record_event` for everything else (``signal``, ``duplicate``).

Each of them also counts the event in ``guardrail_events_total``. The metric names live in
:data:`METRIC_NAMES`, which the dashboard and alert tests import.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from importlib import metadata
from threading import Thread
from typing import Any, Final
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import start_http_server

from guardrail.config import INPUT_TOPICS
from guardrail.core.reasons import REASON_CODES
from guardrail.core.records import ACTIONS, CHANNELS, MESSAGE_CLASSES, Decision
from guardrail.kafka.serde import ERROR_KINDS as SERDE_ERROR_KINDS

OTHER: Final = "other"
UNKNOWN: Final = "unknown"  # info labels before the worker has set them

# --- metric names (exposition names, as PromQL sees them) -----------------------------------
DECISIONS: Final = "guardrail_decisions_total"
DECISION_REASONS: Final = "guardrail_decision_reasons_total"
DECISION_GROUPS: Final = "guardrail_decision_groups_total"
HOLDOUT_RATIO: Final = "guardrail_holdout_ratio"
EVENTS: Final = "guardrail_events_total"
DECISION_LATENCY: Final = "guardrail_decision_latency_seconds"
EVENT_TIME_LAG: Final = "guardrail_event_time_lag_seconds"
DEAD_LETTERS: Final = "guardrail_dead_letters_total"
DEAD_LETTERS_UNSENT: Final = "guardrail_dead_letters_unsent_total"
CUSTOMERS: Final = "guardrail_customers"
INFO: Final = "guardrail_info"
CONSUMER_LAG: Final = "guardrail_consumer_lag"
REBALANCES: Final = "guardrail_rebalances_total"

#: Every metric the guardrail exports, by exposition name, with its Prometheus type.
METRIC_NAMES: Final[Mapping[str, str]] = {
    DECISIONS: "counter",
    DECISION_REASONS: "counter",
    DECISION_GROUPS: "counter",
    HOLDOUT_RATIO: "gauge",
    EVENTS: "counter",
    DECISION_LATENCY: "histogram",
    EVENT_TIME_LAG: "histogram",
    DEAD_LETTERS: "counter",
    DEAD_LETTERS_UNSENT: "counter",
    CUSTOMERS: "gauge",
    INFO: "info",
    CONSUMER_LAG: "gauge",
    REBALANCES: "counter",
    # prometheus_client's process collector (Linux): CPU and memory panels, fd alerts
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_start_time_seconds": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
}

#: faust's own Prometheus sensor (``faust.sensors.prometheus.setup_prometheus_sensors``) when
#: the worker installs it on the same registry with ``name_prefix=FAUST_METRIC_PREFIX``.
#: Only the ones the dashboard may use are listed.
FAUST_METRIC_PREFIX: Final = "faust"
FAUST_METRIC_NAMES: Final[Mapping[str, str]] = {
    "faust_messages_received_total": "counter",
    "faust_messages_received_per_topic_total": "counter",
    "faust_topic_messages_sent_total": "counter",
    "faust_total_rebalances": "gauge",
    "faust_topic_partition_end_offset": "gauge",
    "faust_topic_partition_offset_commited": "gauge",
}

# --- closed label sets -----------------------------------------------------------------------
#: The ``topic`` label's values: the logical input topic names (the record kinds), with the
#: default (unprefixed) Kafka topic each one stands for.
TOPICS: Final[Mapping[str, str]] = INPUT_TOPICS
OUTCOMES: Final = ("decided", "signal", "dead_lettered", "duplicate")
#: Why a record went to the dead-letter topic: a decode failure's ``DecodeError.error_kind``
#: (:data:`guardrail.kafka.serde.ERROR_KINDS`), or one of the worker's own kinds.
WORKER_ERROR_KINDS: Final = (
    "key_mismatch",  # the message key is not the record's customer_id
    "internal_error",  # the record was valid but deciding on it raised
    "ts_out_of_range",  # event time too far ahead of (or behind) the wall clock, or in seconds
    "wrong_partition",  # the record is not on the partition murmur2(key) picks
    "send_failed",  # the broker refused the record's decision (larger than the topic takes)
)
ERROR_KINDS: Final = (*SERDE_ERROR_KINDS, *WORKER_ERROR_KINDS)
HOLDOUT: Final = ("true", "false")
MAX_PARTITIONS: Final = 10_000
MAX_CACHED_CHILDREN: Final = 4_096  # labelled children kept per worker (see GuardrailMetrics)

#: Decision latency: the pure ``decide`` call and its state read/write, in-process.
LATENCY_BUCKETS: Final = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip
#: Event-time lag: decision wall time minus the recommendation's ``ts``.
LAG_BUCKETS: Final = (
    0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0,
)  # fmt: skip

_POLICY_VERSION = re.compile(r"[0-9a-f]{8,64}")
_PACKAGE_VERSION = re.compile(r"\d{1,4}(?:\.\d{1,6}){1,3}(?:(?:a|b|rc)\d{1,4})?(?:\.dev\d{1,6})?")


# What a decision is counted by: (action, channel, message class, holdout, ((reason code,
# shadow), ...)); equal labels can be counted together.
DecisionLabels = tuple[str, str | None, str | None, bool, tuple[tuple[str, bool], ...]]


def decision_labels(
    decision: Decision, channel: str | None = None, message_class: str | None = None
) -> DecisionLabels:
    """The labels of ``decision`` (channel and message class: see ``record_decision``)."""
    final = decision.recommendation
    if final is not None:
        channel = channel if channel is not None else final.channel
        message_class = message_class if message_class is not None else final.message_class
    reasons = tuple((reason.code, bool(reason.shadow)) for reason in decision.reasons)
    return decision.action, channel, message_class, decision.holdout is True, reasons


def closed(value: object, allowed: Iterable[str]) -> str:
    """``value`` when it is one of ``allowed``, else ``other``."""
    return value if isinstance(value, str) and value in set(allowed) else OTHER


def logical_topic(name: object) -> str:
    """The logical topic a Kafka topic name stands for, prefixed or not; else ``other``.

    ``purchase``, ``customer.purchases`` and ``acme.customer.purchases`` all give
    ``purchase``.
    """
    if not isinstance(name, str):
        return OTHER
    if name in TOPICS:
        return name
    for logical, default in TOPICS.items():
        if name == default or name.endswith("." + default) or name.endswith("-" + default):
            return logical
    return OTHER


def _partition(partition: object) -> str:
    if isinstance(partition, bool) or not isinstance(partition, int):
        return OTHER
    return str(partition) if 0 <= partition < MAX_PARTITIONS else OTHER


def _matching(value: object, pattern: re.Pattern[str]) -> str:
    if value == UNKNOWN:
        return UNKNOWN
    return value if isinstance(value, str) and pattern.fullmatch(value) else OTHER


def package_version() -> str:
    try:
        return metadata.version("personalization-guardrail")
    except metadata.PackageNotFoundError:
        return OTHER


class GuardrailMetrics:
    """The guardrail's metric set on ``registry`` (a fresh ``CollectorRegistry`` in tests)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        # No ``*_created`` series: a timestamp per counter that no panel or alert reads.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = registry
        # process_cpu_seconds_total, process_resident_memory_bytes, open fds ...
        ProcessCollector(registry=registry)
        self._declare_decision_metrics(registry)
        self._declare_stream_metrics(registry)
        # Series the alerts compare exist from the start (at 0), so that the first decision,
        # event or dead letter is seen by rate()/increase().
        for action in ACTIONS:
            for channel in CHANNELS:
                self.decisions.labels(action, channel)
            for message_class in MESSAGE_CLASSES:
                for holdout in HOLDOUT:
                    self.decision_groups.labels(message_class, holdout, action)
        for topic in TOPICS:
            for outcome in OUTCOMES:
                self.events.labels(topic, outcome)
            for kind in ERROR_KINDS:
                self.dead_letters.labels(topic, kind)
                self.dead_letters_unsent.labels(topic, kind)
        self.set_info(UNKNOWN, package_version())
        # Labelled children by the raw values they were made from: a dict lookup per event
        # instead of label validation (these series are never removed).
        self._children: dict[tuple[object, ...], Any] = {}
        self._decided = self.events.labels("recommendation", "decided")

    def _declare_decision_metrics(self, registry: CollectorRegistry) -> None:
        self.decisions = Counter(
            DECISIONS,
            "Decisions made, by action and channel (one per recommendation).",
            ["action", "channel"],
            registry=registry,
        )
        self.decision_reasons = Counter(
            DECISION_REASONS,
            "Reasons listed on decisions (one per reason; shadow=true: recorded, not enforced).",
            ["reason", "action", "channel", "shadow"],
            registry=registry,
        )
        self.decision_groups = Counter(
            DECISION_GROUPS,
            "Decisions by message class and holdout group (holdout=true: the policy's holdout"
            " rules were only recorded for this customer), and action.",
            ["message_class", "holdout", "action"],
            registry=registry,
        )
        self.holdout_ratio = Gauge(
            HOLDOUT_RATIO,
            "Share of customers the policy puts in the holdout group (holdout.percent / 100).",
            registry=registry,
        )
        self.decision_latency = Histogram(
            DECISION_LATENCY,
            "In-process time to decide on a recommendation, in seconds.",
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        self.event_time_lag = Histogram(
            EVENT_TIME_LAG,
            "Decision wall time minus the recommendation's event time, in seconds.",
            registry=registry,
            buckets=LAG_BUCKETS,
        )
        self.info = Info(
            INFO.removesuffix("_info"),
            "The policy version and package version this worker runs.",
            registry=registry,
        )

    def _declare_stream_metrics(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            EVENTS,
            "Events consumed, by logical topic and outcome.",
            ["topic", "outcome"],
            registry=registry,
        )
        self.dead_letters = Counter(
            DEAD_LETTERS,
            "Records sent to the dead-letter topic, by logical source topic and error kind.",
            ["topic", "error_kind"],
            registry=registry,
        )
        self.dead_letters_unsent = Counter(
            DEAD_LETTERS_UNSENT,
            "Dead letters the broker refused as well (the record's position is logged; the"
            " partition goes on), by logical source topic and error kind.",
            ["topic", "error_kind"],
            registry=registry,
        )
        self.customers = Gauge(
            CUSTOMERS, "Customers in this worker's state store.", registry=registry
        )
        self.consumer_lag = Gauge(
            CONSUMER_LAG,
            "Messages not yet consumed (end offset minus committed offset), per partition.",
            ["topic", "partition"],
            registry=registry,
        )
        self.rebalances = Counter(
            REBALANCES,
            "Partition assignments this worker received: one per consumer-group rebalance "
            "(the first, at start, included), on either runtime.",
            registry=registry,
        )

    def _remember(self, key: tuple[object, ...], child: Any) -> Any:
        if len(self._children) < MAX_CACHED_CHILDREN:  # raw values are bounded; be sure
            self._children[key] = child
        return child

    # --- what the worker calls ---------------------------------------------------------------
    def record_decision(
        self,
        decision: Decision,
        latency_s: float,
        lag_s: float,
        channel: str | None = None,
        message_class: str | None = None,
    ) -> None:
        """Count one decision on a recommendation from the ``recommendations`` topic.

        ``channel`` and ``message_class`` are the original recommendation's; pass them, since
        a suppressed decision carries no recommendation. Without them the decision's
        recommendation's are used, else ``other``. ``lag_s`` below zero (a ``ts`` in the
        future) counts as 0.
        """
        self.add_decision(decision_labels(decision, channel, message_class), latency_s, lag_s)

    def add_decision(self, labels: DecisionLabels, latency_s: float, lag_s: float) -> None:
        """Count one labelled decision now (the confluent runtime's metrics hold it until
        its checkpoint commits)."""
        self.count_decisions(labels)
        self.observe_decision(latency_s, lag_s)

    def observe_decision(self, latency_s: float, lag_s: float) -> None:
        self.decision_latency.observe(max(0.0, float(latency_s)))
        self.event_time_lag.observe(max(0.0, float(lag_s)))

    def count_decisions(self, labels: DecisionLabels, n: int = 1) -> None:
        """Count ``n`` decisions with the same ``labels`` (see :func:`decision_labels`)."""
        action, channel, message_class, holdout, reasons = labels
        key: tuple[object, ...] = (DECISIONS, action, channel)
        child = self._children.get(key)
        if child is None:
            labelled = closed(action, ACTIONS), closed(channel, CHANNELS)
            child = self._remember(key, self.decisions.labels(*labelled))
        child.inc(n)
        key = (DECISION_GROUPS, message_class, holdout, action)
        child = self._children.get(key)
        if child is None:
            child = self._remember(
                key,
                self.decision_groups.labels(
                    closed(message_class, MESSAGE_CLASSES),
                    "true" if holdout else "false",
                    closed(action, ACTIONS),
                ),
            )
        child.inc(n)
        for code, shadow in reasons:
            key = (DECISION_REASONS, code, action, channel, shadow)
            child = self._children.get(key)
            if child is None:
                child = self._remember(
                    key,
                    self.decision_reasons.labels(
                        closed(code, REASON_CODES),
                        closed(action, ACTIONS),
                        closed(channel, CHANNELS),
                        "true" if shadow else "false",
                    ),
                )
            child.inc(n)
        self._decided.inc(n)

    def record_event(self, topic: str, outcome: str) -> None:
        """Count one consumed event that was not decided on nor dead-lettered.

        ``topic`` is the Kafka topic name (prefixed or not) or the logical name; ``outcome``
        one of :data:`OUTCOMES`, in practice ``signal`` or ``duplicate``.
        """
        self.count_events(topic, outcome)

    def count_events(self, topic: str, outcome: str, n: int = 1) -> None:
        key: tuple[object, ...] = (EVENTS, topic, outcome)
        child = self._children.get(key)
        if child is None:
            child = self._remember(
                key, self.events.labels(logical_topic(topic), closed(outcome, OUTCOMES))
            )
        child.inc(n)

    def record_dead_letter(self, topic: str, error_kind: str) -> None:
        """Count one record sent to the dead-letter topic (and consumed, as ``dead_lettered``)."""
        logical = logical_topic(topic)
        self.dead_letters.labels(logical, closed(error_kind, ERROR_KINDS)).inc()
        self.events.labels(logical, "dead_lettered").inc()

    def record_unsent_dead_letter(self, topic: str, error_kind: str) -> None:
        """Count one dead letter the broker refused too (already counted as dead-lettered)."""
        self.dead_letters_unsent.labels(logical_topic(topic), closed(error_kind, ERROR_KINDS)).inc()

    def set_holdout_percent(self, percent: float) -> None:
        """The policy's holdout share (``holdout.percent``), so dashboards can compare groups
        per customer: the hash puts that share of customers in it."""
        self.holdout_ratio.set(min(100.0, max(0.0, float(percent))) / 100)

    def set_customers(self, n: int) -> None:
        """The number of customers in this worker's state store."""
        self.customers.set(max(0, int(n)))

    def set_consumer_lag(self, topic: str, partition: int, lag: int) -> None:
        """The consumer lag of one assigned partition (end offset minus committed offset)."""
        self.consumer_lag.labels(logical_topic(topic), _partition(partition)).set(max(0, int(lag)))

    def remove_consumer_lag(self, topic: str, partition: int) -> None:
        """Forget a partition this worker no longer owns (after a rebalance)."""
        labels = (logical_topic(topic), _partition(partition))
        with contextlib.suppress(KeyError):
            self.consumer_lag.remove(*labels)

    def record_rebalance(self) -> None:
        """The consumer group gave this worker its partitions (again): a rebalance ended."""
        self.rebalances.inc()

    def set_info(self, policy_version: str, version: str) -> None:
        """The policy version (hex hash) and package version; anything else shows as ``other``."""
        self.info.info(
            {
                "policy_version": _matching(policy_version, _POLICY_VERSION),
                "version": _matching(version, _PACKAGE_VERSION),
            }
        )

    def serve(self, port: int, addr: str = "127.0.0.1") -> tuple[WSGIServer, Thread]:
        """Serve this registry on ``http://addr:port/metrics`` from a daemon thread.

        Returns the server and its thread; ``server.shutdown()`` stops it. Port 0 picks a free
        port (``server.server_port``).
        """
        server, thread = start_http_server(port, addr, registry=self.registry)
        return server, thread
