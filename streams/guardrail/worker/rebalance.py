"""What the worker does when partitions move, and when it must commit before going on.

faust's eager rebalance revokes every partition, lets the tables recover, then seeks every
assigned input partition back to its committed offset. With ``stream_wait_empty=False`` (the
worker's setting: held events are unacknowledged on purpose) faust commits nothing on the way,
so everything decided since the last periodic commit would be read again by the next owner,
on a state whose changelog already holds it. Redelivery is harmless for decisions (the state
remembers rec_ids) and for signals (applied once), but not across an erasure, which forgets
the remembered decisions too. So the worker commits what it acknowledged when partitions are
revoked (after faust flushed the producer), and before it applies an erasure (the pipeline
marks those: ``Held.commit_first``).
"""

from __future__ import annotations

import logging
from typing import Any

import faust

from guardrail.worker.faust_runtime import FaustRuntime

log = logging.getLogger(__name__)
REVOKE_SETTLE_S = 30.0


def install(app: faust.App, runtime: FaustRuntime) -> None:
    """Connect the worker's rebalance and shutdown handlers to ``app``'s signals."""

    @app.on_before_shutdown.connect
    def on_shutdown(_app: Any, /, *args: Any, signal: Any, **_: Any) -> None:
        runtime.drop_all_held()  # unacknowledged: read again after the restart

    @app.on_partitions_revoked.connect
    async def on_revoked(_app: Any, /, *args: Any, signal: Any, **_: Any) -> None:
        # faust flushed the producer just before this signal; nothing is released from now on
        # (app.rebalancing), so the next owner starts exactly after what was decided here.
        try:
            # The sends still in flight finish their records first (faust flushed, so they
            # are done or failing); a retry that outlasts the limit is read again instead.
            await runtime.commit_settled(timeout=REVOKE_SETTLE_S)
        except Exception as exc:  # the rebalance goes on; the next owner reads them again
            log.warning("commit on revocation failed: %s", type(exc).__name__)

    @app.on_partitions_assigned.connect
    def on_assigned(_app: Any, /, *args: Any, signal: Any, **_: Any) -> None:
        # Every assigned input partition is read again from its committed offset once the
        # tables recovered, so nothing held or unacknowledged is kept. args[0]: assigned TPs.
        assigned = {tp for tp in args[0] if tp.topic in runtime.inputs}
        runtime.metrics.record_rebalance()
        runtime.drop_all_held()
        runtime.forget_partitions(assigned)
