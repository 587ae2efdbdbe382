"""Run a worker in this process, on the runtime its settings name (`guardrail worker`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry

from guardrail.config import Settings
from guardrail.metrics.health import HealthServer


def use_uvloop() -> None:
    """uvloop as asyncio's event loop (mode's own switch), before faust builds any loop.

    faust spends much of each event in the event loop itself (a task or future per message,
    per send, per wait); uvloop does the loop's part in C: bench kafka, alternated runs,
    ~+10-15% events per CPU-second for the worker and the bare faust agent alike.
    """
    import mode.loop

    mode.loop.use("uvloop")


#: Allocations between two young-generation collections (CPython's default is 700).
GC_THRESHOLD = 50_000


def tune_gc() -> None:
    """Fewer cyclic-GC passes over a long-lived heap, for either runtime.

    Every event allocates hundreds of short-lived objects (records, states, decisions), nearly
    all freed by reference counting; with CPython's default threshold the collector still ran
    every 700 allocations and walked the young objects each time. What is loaded at start
    (modules, policy, clients) is frozen out of the collector's view. In-process path,
    alternated runs: about +8% events per CPU-second. Cyclic garbage is still collected,
    in larger steps.
    """
    gc.collect()  # what start-up left for the collector, before the rest is frozen
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 10, 10)


@contextmanager
def gc_tuned() -> Iterator[None]:
    """:func:`tune_gc` for a while (the in-process benchmark: the worker's setting), then
    CPython's defaults again."""
    before = gc.get_threshold()
    tune_gc()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def run_worker(
    settings: Settings,
    loglevel: str = "info",
    registry: CollectorRegistry | None = None,
    server: HealthServer | None = None,
) -> None:
    """Run the worker in this process until it is stopped (SIGTERM/SIGINT).

    With ``server`` (already serving ``registry``), its probes follow this worker.
    """
    if settings.runtime == "confluent":
        from guardrail.worker.confluent.runtime import ConfluentWorker, confluent_checks

        tune_gc()
        if server is not None:  # the metrics port is served already
            settings = settings.model_copy(update={"metrics_port": 0})
        confluent = ConfluentWorker(settings, registry=registry)
        if server is not None:
            server.set_checks(*confluent_checks(confluent))
        confluent.run()
        return
    use_uvloop()
    import faust

    from guardrail.worker.faust_app import create_app
    from guardrail.worker.health import faust_checks

    app, _ = create_app(settings, registry=registry)
    tune_gc()
    if server is not None:
        server.set_checks(*faust_checks(app))
    # Logging is ours (guardrail.logs): faust must not replace the handler and its filters.
    runner = faust.Worker(app, loglevel=loglevel, quiet=True, override_logging=False)
    runner.spinner = None  # faust drops it only when it sets logging up; log "Ready" instead
    runner.execute_from_commandline()
