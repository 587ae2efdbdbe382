"""Every private faust-streaming and aiokafka attribute the worker relies on, in one place.

faust and aiokafka expose no public way to do these things, so the worker reaches inside;
each reach is a function here, and :data:`REQUIREMENTS` lists them so that a unit test (and
:func:`check` when a worker starts) fails loudly, naming the attribute and the version we
tested, when an upgrade removes one. Both libraries are pinned to the tested minor versions
in ``pyproject.toml``; nothing outside this module touches a private faust/aiokafka name
(ruff's SLF001 holds the rest of the code to it).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import inspect
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

#: The versions the worker is tested with (``pyproject.toml`` pins these minor versions).
TESTED_VERSIONS = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0"}


class FaustInternalsChanged(RuntimeError):
    """A private faust/aiokafka attribute the worker needs is gone (an untested upgrade)."""


# -- the reaches ----------------------------------------------------------------------------


def aiokafka_consumer(app: Any) -> Any:
    """The ``aiokafka.AIOKafkaConsumer`` inside faust's consumer thread.

    Raises ``AssertionError`` while faust has not created it (not started, or stopping).
    """
    try:
        ensure = app.consumer._thread._ensure_consumer
    except AttributeError as exc:  # not "not assigned": the private names changed
        raise FaustInternalsChanged(f"faust's consumer thread: {exc}") from exc
    return ensure()


def set_fetch_max_wait(aio: Any, max_wait_ms: int) -> bool:
    """Set the live fetcher's ``fetch_max_wait_ms`` (faust hardcodes aiokafka's 1,500 ms).
    False while the consumer has no fetcher yet."""
    fetcher = aio._fetcher
    if fetcher is None:
        return False
    fetcher._fetch_max_wait_ms = max_wait_ms
    return True


def committed_offset(app: Any, tp: Any) -> int | None:
    """faust's committed offset of ``tp`` (the next offset to read), or None."""
    offset: int | None = app.consumer._committed_offset.get(tp)
    return offset


@contextlib.contextmanager
def current_event(event: Any) -> Iterator[None]:
    """Run the block as if faust's stream were on ``event``: table writes take their
    changelog partition (and store partition) from the current event."""
    from faust.streams import _current_event

    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def rocksdb_of_partition(table: Any, partition: int) -> Any:
    """The RocksDB database (a rocksdict ``Rdict``) holding ``table``'s ``partition``, or None
    when the table is not on RocksDB (``memory://``)."""
    from faust.stores.rocksdb import Store

    store = table.data
    if not isinstance(store, Store) or not store.use_rocksdict:
        return None
    return store._db_for_partition(partition)


def monitor_metrics(monitor: Any) -> Any:
    """The ``FaustMetrics`` (Prometheus metric objects) of faust's ``PrometheusMonitor``."""
    return monitor._metrics


# What exists already, without building it: reading ``app.consumer`` or ``app.loop`` from
# another thread (the health probes) would create them there.


def built_consumer(app: Any) -> Any:
    """faust's consumer if the app has built it, else None."""
    return app.__dict__.get("_consumer")


def built_loop(app: Any) -> Any:
    """The app's event loop if it has one yet, else None."""
    return app.__dict__.get("_loop")


def consumer_thread(consumer: Any) -> Any:
    """The thread faust's consumer runs aiokafka in, or None."""
    return getattr(consumer, "_thread", None)


def table_recovery(tables: Any) -> Any:
    """The table manager's recovery service if it has one yet, else None."""
    return tables.__dict__.get("_recovery")


# -- what must exist ------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """``attribute`` of ``owner`` (a dotted path), found by ``present()``."""

    package: str
    owner: str
    attribute: str
    present: Callable[[], bool]

    def problem(self) -> str | None:
        try:
            if self.present():
                return None
        except Exception as exc:  # an import or lookup that broke says as much
            return self._message(f"cannot be checked ({type(exc).__name__}: {exc})")
        return self._message("is gone")

    def _message(self, what: str) -> str:
        installed = _installed(self.package)
        return (
            f"{self.owner}.{self.attribute} {what}: the worker needs it "
            f"(tested with {self.package} {TESTED_VERSIONS[self.package]}, "
            f"installed {installed}); see guardrail.worker.faust_compat"
        )


def _installed(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def _class(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _has(path: str, attribute: str) -> Callable[[], bool]:
    return lambda: hasattr(_class(path), attribute)


def _assigned_in(path: str, attribute: str) -> Callable[[], bool]:
    """An instance attribute: assigned as ``self.<attribute>`` in the class or in one it
    inherits from."""

    def present() -> bool:
        for klass in _class(path).__mro__:
            if klass.__module__ == "builtins" or klass.__module__.startswith("typing"):
                continue
            if f"self.{attribute} =" in inspect.getsource(klass):
                return True
        return False

    return present


def _module_has(module: str, name: str) -> Callable[[], bool]:
    return lambda: hasattr(importlib.import_module(module), name)


def _logs(path: str, method: str, text: str) -> Callable[[], bool]:
    return lambda: text in inspect.getsource(getattr(_class(path), method))


FAUST_CONSUMER = "faust.transport.drivers.aiokafka.Consumer"
FAUST_THREAD = "faust.transport.drivers.aiokafka.AIOKafkaConsumerThread"
AIOKAFKA_CONSUMER = "aiokafka.AIOKafkaConsumer"
AIOKAFKA_FETCHER = "aiokafka.consumer.fetcher.Fetcher"
PROMETHEUS_MONITOR = "faust.sensors.prometheus.PrometheusMonitor"
FAUST_TOPIC = "faust.topics.Topic"
FAUST_APP = "faust.app.base.App"
MODE_SERVICE = "mode.Service"
TABLE_MANAGER = "faust.tables.manager.TableManager"
ROCKSDB_STORE = "faust.stores.rocksdb.Store"
#: The start of faust's warning for a failed send (``guardrail.worker.send_failures``).
SEND_ERROR_PREFIX = "_on_published error"

FAUST, AIOKAFKA = "faust-streaming", "aiokafka"
REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(FAUST, FAUST_CONSUMER, "_thread", _assigned_in(FAUST_CONSUMER, "_thread")),
    Requirement(FAUST, FAUST_THREAD, "_ensure_consumer", _has(FAUST_THREAD, "_ensure_consumer")),
    Requirement(FAUST, FAUST_APP, "_consumer", _assigned_in(FAUST_APP, "_consumer")),
    Requirement(FAUST, MODE_SERVICE, "_loop", _assigned_in(MODE_SERVICE, "_loop")),
    Requirement(FAUST, TABLE_MANAGER, "_recovery", _assigned_in(TABLE_MANAGER, "_recovery")),
    Requirement(
        FAUST, ROCKSDB_STORE, "_db_for_partition", _has(ROCKSDB_STORE, "_db_for_partition")
    ),
    Requirement(
        FAUST,
        FAUST_CONSUMER,
        "_committed_offset",
        _assigned_in(FAUST_CONSUMER, "_committed_offset"),
    ),
    Requirement(
        FAUST, "faust.streams", "_current_event", _module_has("faust.streams", "_current_event")
    ),
    Requirement(
        FAUST, PROMETHEUS_MONITOR, "_metrics", _assigned_in(PROMETHEUS_MONITOR, "_metrics")
    ),
    Requirement(
        FAUST, PROMETHEUS_MONITOR, "_stream_label", _has(PROMETHEUS_MONITOR, "_stream_label")
    ),
    Requirement(
        FAUST,
        PROMETHEUS_MONITOR,
        "_clear_partition_related_metrics",
        _has(PROMETHEUS_MONITOR, "_clear_partition_related_metrics"),
    ),
    Requirement(
        FAUST, FAUST_TOPIC, "_on_published", _logs(FAUST_TOPIC, "_on_published", SEND_ERROR_PREFIX)
    ),
    Requirement(
        AIOKAFKA, AIOKAFKA_CONSUMER, "_fetcher", _assigned_in(AIOKAFKA_CONSUMER, "_fetcher")
    ),
    Requirement(
        AIOKAFKA,
        AIOKAFKA_FETCHER,
        "_fetch_max_wait_ms",
        _assigned_in(AIOKAFKA_FETCHER, "_fetch_max_wait_ms"),
    ),
)


def problems() -> list[str]:
    """One line per private attribute that is missing; empty when all are there."""
    return [p for p in (r.problem() for r in REQUIREMENTS) if p is not None]


def check() -> None:
    """Raise :class:`FaustInternalsChanged` naming every missing attribute."""
    found = problems()
    if found:
        raise FaustInternalsChanged("; ".join(found))
