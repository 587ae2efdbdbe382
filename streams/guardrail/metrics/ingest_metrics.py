"""`guardrail ingest`'s metrics: records mapped and dead-lettered, by contract record type.

Labels come from closed sets (the record types, the dead-letter error kinds), never from a
brand's topic names or record contents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector

from guardrail.metrics.metric_set import closed

INGEST_RECORDS: Final = "guardrail_ingest_records_total"
INGEST_DEAD_LETTERS: Final = "guardrail_ingest_dead_letters_total"
INGEST_ASSIGNED: Final = "guardrail_ingest_assigned_partitions"
INGEST_METRIC_NAMES: Final[Mapping[str, str]] = {
    INGEST_RECORDS: "counter",
    INGEST_DEAD_LETTERS: "counter",
    INGEST_ASSIGNED: "gauge",
}
RECORD_TYPES: Final = ("purchase", "location", "browsing", "profile", "recommendation")
OUTCOMES: Final = ("mapped", "dead_lettered")
INGEST_ERROR_KINDS: Final = (
    "empty",
    "not_json_or_avro",
    "unknown_schema_id",
    "registry_unavailable",
    "missing_field",
    "bad_enum",
    "invalid_record",
    "send_failed",  # the mapped record could not be written (too large, say)
)


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        ProcessCollector(registry=registry)
        self.records = Counter(
            INGEST_RECORDS,
            "Brand records read, by the contract record type they map to and outcome.",
            ["type", "outcome"],
            registry=registry,
        )
        self.dead_letters = Counter(
            INGEST_DEAD_LETTERS,
            "Brand records dead-lettered, by record type and error kind.",
            ["type", "error_kind"],
            registry=registry,
        )
        self.assigned = Gauge(
            INGEST_ASSIGNED, "Source partitions this instance reads.", registry=registry
        )
        for kind in RECORD_TYPES:
            for outcome in OUTCOMES:
                self.records.labels(kind, outcome)
            for error in INGEST_ERROR_KINDS:
                self.dead_letters.labels(kind, error)

    def mapped(self, kind: str) -> None:
        self.records.labels(closed(kind, RECORD_TYPES), "mapped").inc()

    def dead_lettered(self, kind: str, error_kind: str) -> None:
        kind = closed(kind, RECORD_TYPES)
        self.records.labels(kind, "dead_lettered").inc()
        self.dead_letters.labels(kind, closed(error_kind, INGEST_ERROR_KINDS)).inc()
