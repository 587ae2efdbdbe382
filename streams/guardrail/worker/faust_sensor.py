"""faust's Prometheus sensor, with its per-message label lookups cached.

``faust.sensors.prometheus.PrometheusMonitor`` calls ``metric.labels(...)`` several times
for every message in, event, table read/write and send; prometheus_client validates and
hashes the label values each time. In a worker profile that was ~8% of the main thread
(bench kafka). This subclass records exactly the same series with the same values, but keeps
the labelled child of each (metric, label values) and the label of each stream, so the hot
path is a dict lookup. faust removes topic/partition series on a rebalance; the cache is
dropped with them, so no increment goes to a removed child. It overrides two of faust's
private hooks (``_stream_label``, ``_clear_partition_related_metrics``), checked with the
other private names in ``guardrail.worker.faust_compat``.
"""

from __future__ import annotations

from typing import Any

from faust.sensors.monitor import Monitor, TPOffsetMapping
from faust.sensors.prometheus import PrometheusMonitor, setup_prometheus_sensors
from faust.types import TP, AppT, CollectionT, EventT, Message, StreamT
from prometheus_client import CollectorRegistry

from guardrail.worker import faust_compat

MAX_STREAMS = 64  # stream labels kept (a worker has one stream per agent actor)


class CachedPrometheusMonitor(PrometheusMonitor):
    """``PrometheusMonitor`` recording the same series without a ``labels()`` call per event."""

    def __init__(self, metrics: Any, **kwargs: Any) -> None:
        super().__init__(metrics, **kwargs)
        self.series = metrics  # faust's FaustMetrics (what its monitor keeps as _metrics)
        self._label_children: dict[tuple[int, tuple[Any, ...]], Any] = {}
        self._stream_labels: dict[int, tuple[StreamT[Any], str]] = {}

    def _child(self, metric: Any, *values: Any) -> Any:
        key = (id(metric), values)
        child = self._label_children.get(key)
        if child is None:
            child = self._label_children[key] = metric.labels(*values)
        return child

    def _stream_label(self, stream: StreamT[Any]) -> str:
        known = self._stream_labels.get(id(stream))
        if known is not None and known[0] is stream:
            return known[1]
        if len(self._stream_labels) >= MAX_STREAMS:
            self._stream_labels.clear()
        label = super()._stream_label(stream)
        self._stream_labels[id(stream)] = (stream, label)
        return label

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        Monitor.on_message_in(self, tp, offset, message)
        metrics = self.series
        metrics.messages_received.inc()
        metrics.active_messages.inc()
        self._child(metrics.messages_received_per_topics, tp.topic).inc()
        self._child(metrics.messages_received_per_topics_partition, tp.topic, tp.partition).set(
            offset
        )

    def on_stream_event_in(
        self, tp: TP, offset: int, stream: StreamT[Any], event: EventT[Any]
    ) -> dict[Any, Any] | None:
        state = Monitor.on_stream_event_in(self, tp, offset, stream, event)
        metrics = self.series
        metrics.total_events.inc()
        metrics.total_active_events.inc()
        label = f"stream.{self._stream_label(stream)}.events"
        self._child(metrics.total_events_per_stream, label).inc()
        return state

    def _table_op(self, table: CollectionT, operation: str) -> None:
        self._child(self.series.table_operations, f"table.{table.name}", operation).inc()

    def on_table_get(self, table: CollectionT, key: Any) -> None:
        Monitor.on_table_get(self, table, key)
        self._table_op(table, self.KEYS_RETRIEVED)

    def on_table_set(self, table: CollectionT, key: Any, value: Any) -> None:
        Monitor.on_table_set(self, table, key, value)
        self._table_op(table, self.KEYS_UPDATED)

    def on_table_del(self, table: CollectionT, key: Any) -> None:
        Monitor.on_table_del(self, table, key)
        self._table_op(table, self.KEYS_DELETED)

    def on_send_initiated(
        self, producer: Any, topic: str, message: Any, keysize: int, valsize: int
    ) -> Any:
        self._child(self.series.topic_messages_sent, f"topic.{topic}").inc()
        return Monitor.on_send_initiated(self, producer, topic, message, keysize, valsize)

    def track_tp_end_offset(self, tp: TP, offset: int) -> None:
        Monitor.track_tp_end_offset(self, tp, offset)
        self._child(self.series.topic_partition_end_offset, tp.topic, tp.partition).set(offset)

    def on_tp_commit(self, tp_offsets: TPOffsetMapping) -> None:
        Monitor.on_tp_commit(self, tp_offsets)
        metric = self.series.topic_partition_offset_commited
        for tp, offset in tp_offsets.items():
            self._child(metric, tp.topic, tp.partition).set(offset)

    def _clear_partition_related_metrics(self) -> None:
        # faust removes the topic/partition series (rebalance): forget their children too.
        self._label_children.clear()
        super()._clear_partition_related_metrics()


def setup_sensors(app: AppT, registry: CollectorRegistry, name_prefix: str) -> None:
    """``setup_prometheus_sensors`` (same metrics, same /metrics page), with the cached monitor."""
    setup_prometheus_sensors(app, registry=registry, name_prefix=name_prefix)
    plain = app.monitor
    assert isinstance(plain, PrometheusMonitor)
    app.monitor = CachedPrometheusMonitor(metrics=faust_compat.monitor_metrics(plain))
