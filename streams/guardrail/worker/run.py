"""Run a worker in this process, on the runtime its settings name (`guardrail worker`)."""

from __future__ import annotations

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
    if server is not None:
        server.set_checks(*faust_checks(app))
    # Logging is ours (guardrail.logs): faust must not replace the handler and its filters.
    runner = faust.Worker(app, loglevel=loglevel, quiet=True, override_logging=False)
    runner.spinner = None  # faust drops it only when it sets logging up; log "Ready" instead
    runner.execute_from_commandline()
