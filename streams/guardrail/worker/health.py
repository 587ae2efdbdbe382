"""The faust worker's probes: alive = its event loop answers and it has not crashed;
ready = partitions assigned and the state store recovered (not rebalancing, not restoring)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from guardrail.metrics.health import Check
from guardrail.worker import faust_compat

# An event loop that does not run a callback within this long is stuck (a blocking call,
# a livelock): the probe fails and the orchestrator restarts the worker.
LOOP_TIMEOUT_S = 5.0


def loop_answers(loop: asyncio.AbstractEventLoop, timeout: float = LOOP_TIMEOUT_S) -> bool:
    """True when ``loop`` runs a callback scheduled from this (another) thread in time."""
    if loop.is_closed() or not loop.is_running():
        return False
    answered = threading.Event()
    loop.call_soon_threadsafe(answered.set)
    return answered.wait(timeout)


def faust_checks(app: Any) -> tuple[Check, Check]:
    """(live, ready) probes of a faust ``app`` (built, maybe not started yet).

    They run on the server's thread, so they only read what exists: touching ``app.loop``,
    ``app.consumer`` or ``app.tables`` here would create them, on the wrong thread (a second
    event loop the worker would then wait on forever).
    """
    state = app.__dict__

    def live() -> tuple[bool, str]:
        if app.crashed:
            return False, "the worker crashed"
        thread = faust_compat.consumer_thread(faust_compat.built_consumer(app))
        if thread is not None and thread.crashed:
            return False, "the consumer thread crashed"
        loop = faust_compat.built_loop(app)
        if loop is None or not app.started:
            return True, "starting"
        if not loop_answers(loop):
            return False, "the event loop does not answer"
        return True, "ok"

    def ready() -> tuple[bool, str]:
        tables = state.get("tables")
        if not app.started or tables is None:
            return False, "starting"
        if app.rebalancing:
            return False, "rebalancing"
        recovery = faust_compat.table_recovery(tables)
        if app.in_recovery or recovery is None or not recovery.completed.is_set():
            return False, "recovering state"
        return True, "ok"

    return live, ready
