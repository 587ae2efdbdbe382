"""The faust app: five input topics, one agent, one table of customer states. A thin shell.

The agent gives each event to the runtime-neutral pipeline (``guardrail.pipeline``) through
``guardrail.worker.faust_runtime``: decode (bad records go to the dead-letter topic), hold
for event-time order across topics, read the customer's state, ``decide``, write the state
back and send the decision. Offsets are acknowledged only once an event is released and
handled, so a crash re-reads held events instead of losing them.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from guardrail.config import Settings
from guardrail.core.policy import Policy, load_policy
from guardrail.metrics.metric_set import GuardrailMetrics, package_version
from guardrail.worker import faust_compat, rebalance, send_failures
from guardrail.worker.faust_runtime import FaustRuntime
from guardrail.worker.faust_sensor import setup_sensors

log = logging.getLogger(__name__)

# How often held events of quiet partitions are looked at again.
RELEASE_INTERVAL_S = 0.02


def _credentials(settings: Settings) -> Any:
    """faust (aiokafka) credentials for the configured security protocol, or None."""
    protocol = settings.security_protocol
    context = None
    if protocol.endswith("SSL"):
        context = ssl.create_default_context(
            cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
        )
        if settings.ssl_certfile:
            context.load_cert_chain(
                str(settings.ssl_certfile),
                str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
            )
        context.check_hostname = settings.ssl_check_hostname
    if protocol.startswith("SASL"):
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else None
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=password,
            ssl_context=context,
            mechanism=settings.sasl_mechanism,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def faust_options(settings: Settings) -> dict[str, Any]:
    """The faust (aiokafka) options of the worker; `guardrail bench` reuses them."""
    return dict(
        broker=[f"kafka://{server.strip()}" for server in settings.bootstrap_servers.split(",")],
        broker_credentials=_credentials(settings),
        store=settings.store,
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        # verify mode: the brand owns its topics; faust must not create any either
        topic_allow_declare=settings.topics == "create",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # Batch sends for 5 ms (as our confluent producers do): with faust's default of 0,
        # every send became its own produce request, the worker's biggest cost (bench kafka).
        producer_linger=0.005,
        # Closed by default: faust's /table/<name>/<key>/ answers any customer's stored state
        # and /router, /graph, /stats describe the app. web_host only names the URL; web_bind
        # is the address the server listens on.
        web_enabled=settings.web_enabled,
        web_port=settings.web_port,
        web_host="127.0.0.1",
        web_bind="127.0.0.1",
        web_tables_enabled=False,
        web_router_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_metrics_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        table_standby_replicas=0,
        # Held events are unacknowledged on purpose: do not wait for them on a rebalance
        # (they are read again from their uncommitted offsets by whoever owns them next).
        stream_wait_empty=False,
        processing_guarantee="exactly_once" if settings.exactly_once else "at_least_once",
        broker_session_timeout=settings.session_timeout_s,
    )


def create_app(
    settings: Settings,
    *,
    policy: Policy | None = None,
    registry: CollectorRegistry | None = None,
) -> tuple[faust.App, FaustRuntime]:
    """Build the faust app from ``settings``; nothing connects until the worker starts."""
    policy = policy if policy is not None else load_policy(settings.policy)
    metrics = GuardrailMetrics(registry if registry is not None else CollectorRegistry())
    metrics.set_info(policy.version, package_version())
    metrics.set_holdout_percent(policy.holdout.percent)
    faust_compat.check()  # loudly, now, if an upgrade took a private attribute we use
    app = faust.App(settings.app_id, **faust_options(settings))
    setup_sensors(app, metrics.registry, "faust")  # faust's sensor, label lookups cached
    runtime = FaustRuntime(app, settings, policy, metrics)
    inputs = app.topic(
        *settings.input_topics().values(),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
    )

    @app.agent(inputs, name="guardrail")
    async def guard(stream: Any) -> None:
        manual = stream.noack()  # acknowledged once released and handled
        async for event in manual.events():
            await runtime.on_event(event)

    @app.timer(interval=RELEASE_INTERVAL_S)
    async def release_held() -> None:
        await runtime.release_held()

    @app.timer(interval=settings.gauge_interval_s)
    async def refresh_gauges() -> None:
        runtime.refresh_gauges()

    rebalance.install(app, runtime)
    send_failures.install(app)

    return app, runtime
