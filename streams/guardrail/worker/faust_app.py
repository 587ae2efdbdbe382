"""The faust app: five input topics, one agent, one table of customer states. A thin shell.

Per event: decode (bad records go to the dead-letter topic), hold briefly for event-time
order across topics (``guardrail.pipeline.hold``), then read the customer's state, ``decide``, write
the state back and send the decision: in one step, inside the agent, so the changelog write
lands on the partition the event came from. Offsets are acknowledged only once an event is
released and handled, so a crash re-reads held events instead of losing them.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import ssl
import time
import weakref
from collections import deque
from typing import Any

import faust
from faust.streams import _current_event
from faust.types import TP, EventT
from prometheus_client import CollectorRegistry

from guardrail.config import DECISION_HEADER, Settings
from guardrail.core.engine import Engine
from guardrail.core.policy import Policy, load_policy
from guardrail.core.records import DeadLetter, Event, Profile, Recommendation
from guardrail.core.state import EMPTY_STATE, state_from_json, state_to_json
from guardrail.kafka import bounds, serde
from guardrail.metrics.faust_sensor import setup_sensors
from guardrail.metrics.metric_set import GuardrailMetrics, package_version
from guardrail.pipeline.acks import InOrderAcks
from guardrail.pipeline.hold import RECOMMENDATION_RANK, SIGNAL_RANK, PartitionOrderer
from guardrail.pipeline.partitioning import wrong_partition
from guardrail.pipeline.timecheck import seconds_problem
from guardrail.worker import rebalance, send_failures

log = logging.getLogger(__name__)

TABLE_NAME = "customer-state"
REGISTRY_RETRIES = 10
Ev = EventT[bytes]
# How often held events of quiet partitions are looked at again.
RELEASE_INTERVAL_S = 0.02
# faust hardcodes aiokafka's fetch_max_wait_ms=1500: on a quiet broker the fetch response that
# confirms a partition caught up (see _caught_up) came up to 1.5 s late. Set on the live fetcher.
FETCH_MAX_WAIT_MS = 50
# High watermarks seen per input partition, with the time of their fetch response.
HIGHWATER_HISTORY = 32


def _fetched_at(entry: tuple[int, int]) -> int:
    return entry[0]


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


class Guardrail:
    """Holds the per-worker parts: engine, codec, table, topics, orderers, metrics."""

    def __init__(
        self, app: faust.App, settings: Settings, policy: Policy, metrics: GuardrailMetrics
    ) -> None:
        self.app = app
        self.settings = settings
        self.engine = Engine(policy)
        self.metrics = metrics
        registry = (
            serde.registry_client(settings.schema_registry_url)
            if settings.schema_registry_url
            else None
        )
        self.codec = serde.Codec(registry, max_value_bytes=settings.max_value_bytes)
        self.kinds = {topic: kind for kind, topic in settings.input_topics().items()}
        self.outputs = settings.output_topics()
        # One Topic object per output, built once (app.topic() per send was a hot spot).
        self.out_topics = {topic: app.topic(topic) for topic in self.outputs.values()}
        self.table = app.Table(
            TABLE_NAME,
            default=None,
            partitions=settings.partitions,
            key_type=bytes,
            value_type=bytes,
            # RocksDB memory per partition store (faust's defaults: 3 x 64 MB memtables, 2 GB
            # cache); ignored by the memory store.
            options={
                "write_buffer_size": settings.rocksdb_write_buffer_mb << 20,
                "max_write_buffer_number": 2,
                "block_cache_size": settings.rocksdb_block_cache_mb << 20,
                "block_cache_compressed_size": settings.rocksdb_block_cache_mb << 20,
            },
        )
        if settings.topic_changelog is not None:  # a name of the brand's choosing
            self.table.changelog_topic = app.topic(
                settings.changelog_topic,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=settings.partitions,
                compacting=True,
                acks=False,
                internal=True,
            )
        self.orderers: dict[int, PartitionOrderer[tuple[Ev, Event]]] = {}
        self.acks = InOrderAcks()  # offset order per partition: faust never sees a gap
        self.last_offset: dict[TP, int] = {}
        self.highwaters: dict[TP, deque[tuple[int, int]]] = {}
        self.fetch_tuned = False
        # The agent and the overdue timer both release held events; one at a time, or one
        # could decide a later event while the other still awaits the send of an earlier one.
        self.releasing = asyncio.Lock()
        self.lag_partitions: set[TP] = set()  # partitions with a consumer-lag series

    # -- ordering ---------------------------------------------------------------------------

    def _orderer(self, partition: int) -> PartitionOrderer[tuple[Ev, Event]]:
        orderer = self.orderers.get(partition)
        if orderer is None:
            orderer = PartitionOrderer(self.kinds, self.settings.max_hold_ms / 1000)
            self.orderers[partition] = orderer
        return orderer

    def _caught_up(self, topic: str, partition: int, since: float) -> bool:
        """True when every record of the partition is read, by a fetch answered after ``since``.

        A high watermark older than the held event could miss a record produced before it
        (on another topic) and not fetched yet, so only a fresher one counts.
        """
        tp = TP(topic, partition)
        consumer: Any = self.app.consumer  # faust's Consumer; its aiokafka client is inside
        try:
            aio = consumer._thread._ensure_consumer()
            # aiokafka's time (epoch ms) of the fetch response that last set the high watermark
            polled = aio.last_poll_timestamp(tp)
        except (AssertionError, AttributeError, KeyError):  # not assigned here (any more)
            return True
        if not self.fetch_tuned and getattr(aio, "_fetcher", None) is not None:
            aio._fetcher._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
            self.fetch_tuned = True
        if polled is None:
            return False
        # Any high watermark from a response after ``since`` bounds what was there before;
        # the first such one is the easiest to reach (later ones count newer records too,
        # and under a steady stream every partition's newest one keeps moving ahead).
        seen = self.highwaters.get(tp)
        if not seen or seen[-1][0] != polled:
            # A new fetch response: note it for every input topic of the partition now, not
            # only when a release check reaches that topic (by then its watermark moved on).
            self._observe(aio, partition)
            seen = self.highwaters.get(tp)
            if not seen:
                return False
        # The history is in fetch order: binary search for the first response after since.
        first = bisect.bisect_left(seen, since * 1000, key=_fetched_at)
        if first == len(seen):
            return False
        highwater = seen[first][1]
        last = self.last_offset.get(tp)
        if last is None:
            committed = consumer._committed_offset.get(tp)
            return bool(highwater == 0 or (committed is not None and committed >= highwater))
        return bool(last + 1 >= highwater)

    def _hold_clock(self, partition: int, now: float) -> float:
        """The hold's clock for its timeout: the wall time of the partition's latest fetch
        response (of any input topic), never after ``now``.

        While fetches fail (the broker is down, a partition leader is moving) it stands
        still, so a held recommendation is not released on its timeout ahead of signals
        written before it that could not be fetched: that changed decisions in an outage.
        """
        consumer: Any = self.app.consumer
        try:
            aio = consumer._thread._ensure_consumer()
        except (AssertionError, AttributeError):  # not started, or stopping
            return now
        latest = 0
        for topic in self.kinds:
            try:
                polled = aio.last_poll_timestamp(TP(topic, partition))
            except (AssertionError, AttributeError, KeyError):  # not assigned here
                continue
            if polled is not None and polled > latest:
                latest = polled
        return min(now, latest / 1000) if latest else now

    def _observe(self, aio: Any, partition: int) -> None:
        """Note each input topic's high watermark of ``partition`` with its fetch time."""
        consumer: Any = self.app.consumer
        for topic in self.kinds:
            tp = TP(topic, partition)
            try:
                polled = aio.last_poll_timestamp(tp)
                highwater = consumer.highwater(tp)
            except (AssertionError, AttributeError, KeyError):  # not assigned here
                continue
            if polled is None or highwater is None:
                continue
            seen = self.highwaters.get(tp)
            if seen is None:
                seen = self.highwaters[tp] = deque(maxlen=HIGHWATER_HISTORY)
            if not seen or seen[-1][0] != polled:
                seen.append((polled, highwater))

    # -- the agent's step -------------------------------------------------------------------

    async def on_event(self, event: Ev) -> None:
        message = event.message
        tp = TP(message.topic, message.partition)
        self.last_offset[tp] = message.offset
        self.acks.read(tp, message.offset, event)
        kind = self.kinds[message.topic]
        record = await self._decode(event, kind)
        if record is None:
            self._finished(event)
            return
        rank = RECOMMENDATION_RANK if kind == "recommendation" else SIGNAL_RANK
        orderer = self._orderer(message.partition)
        orderer.push(
            message.topic, record.ts, rank, (event, record), time.time(), record.customer_id
        )
        await self.release(message.partition)

    async def release(self, partition: int) -> None:
        if self.app.rebalancing:
            return  # held: after the rebalance this partition may belong to another worker
        async with self.releasing:
            orderer = self._orderer(partition)
            clock = self._hold_clock(partition, time.time())
            ready = orderer.pop_ready(lambda t, s: self._caught_up(t, partition, s), clock)
            for held_event, record in ready:
                if self.app.rebalancing:
                    break  # the rest is read again from the committed offset afterwards
                await self._handle(held_event, record)
                self._finished(held_event)

    def _finished(self, event: Ev) -> None:
        message = event.message
        self.acks.finished(TP(message.topic, message.partition), message.offset, event)

    async def _decode(self, event: Ev, kind: str) -> Event | None:
        message = event.message
        for attempt in range(REGISTRY_RETRIES):
            try:
                record: Event = self.codec.decode(kind, message.value)  # type: ignore[assignment]
            except serde.DecodeError as exc:
                if exc.transient and attempt + 1 < REGISTRY_RETRIES:
                    log.warning("schema registry unavailable, retrying: %s", exc.message)
                    await asyncio.sleep(min(2**attempt, 10))
                    continue
                await self._dead_letter(event, exc.error_kind, str(exc))
                return None
            except Exception as exc:  # a decoder bug must not stop the stream either
                where = (message.topic, message.partition, message.offset)
                log.error("decode failed on %s[%d]@%d: %s", *where, type(exc).__name__)
                error = f"internal_error: decoding raised {type(exc).__name__}"
                await self._dead_letter(event, "internal_error", error)
                return None
            if message.key != record.customer_id.encode():
                await self._dead_letter(
                    event, "key_mismatch", "key_mismatch: message key is not the customer_id"
                )
                return None
            # never decide against another partition's state (pipeline.partitioning)
            wrong = wrong_partition(message.key, message.partition, self.settings.partitions)
            if wrong is not None:
                await self._dead_letter(event, "wrong_partition", wrong)
                return None
            problem = self._ts_problem(record.ts)
            if problem is not None:
                await self._dead_letter(event, "ts_out_of_range", f"ts_out_of_range: {problem}")
                return None
            return record
        return None  # pragma: no cover (the loop always returns)

    def _ts_problem(self, ts: int) -> str | None:
        """Why event time ``ts`` is implausible against the wall clock, or None (limits: 0=off)."""
        seconds = seconds_problem(ts, self.settings.min_ts_ms)
        if seconds is not None:
            return seconds
        now = int(time.time() * 1000)
        ahead, behind = self.settings.max_future_ms, self.settings.max_past_ms
        if ahead and ts > now + ahead:
            return f"ts {ts} is more than max_future_ms={ahead} ahead of the wall clock"
        if behind and ts < now - behind:
            return f"ts {ts} is more than max_past_ms={behind} behind the wall clock"
        return None

    async def _dead_letter(self, event: Ev, kind: str, error: str) -> None:
        message = event.message
        value, error = bounds.bounded_dead_letter_value(message.value, error)
        letter = DeadLetter(
            source_topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=value,
            error=error,
            ts=int(time.time() * 1000),
        )
        topic = self.outputs["deadletter"]
        await self.app.topic(topic).send(
            key=message.key,
            value=self.codec.encode("deadletter", letter, topic),
            key_serializer="raw",
            value_serializer="raw",
        )
        self.metrics.record_dead_letter(message.topic, kind)
        log.warning(
            "dead-lettered %s[%d]@%d: %s", message.topic, message.partition, message.offset, kind
        )

    async def _handle(self, event: Ev, record: Event) -> None:
        started = time.perf_counter()
        key = record.customer_id.encode()
        stored = self.table.get(key)
        state = state_from_json(stored) if stored is not None else EMPTY_STATE
        try:
            new_state, decision = self.engine.decide(state, record)
        except Exception as exc:  # a bug must not stop the stream: keep the record, say why
            # No traceback or message in the log: either may quote the record (customer data).
            m = event.message
            log.error(
                "decide failed on %s[%d]@%d: %s", m.topic, m.partition, m.offset, type(exc).__name__
            )
            await self._dead_letter(event, "internal_error", f"internal_error: {exc!r}")
            return
        if new_state is not state:
            if isinstance(record, Profile) and record.erase:
                # Commit first: redelivered after the erasure, a decision made before it
                # could not be repeated (the erasure forgets it too).
                # See guardrail.worker.rebalance.
                await rebalance.commit_acknowledged(self.app)
            if isinstance(record, Profile) and record.erase and key in self.table:
                # Erasure: a tombstone first, so compaction forgets everything that was.
                del self.table[key]
            if new_state.is_empty():
                if key in self.table:
                    del self.table[key]
            else:
                self.table[key] = state_to_json(new_state)
        topic = event.message.topic
        if decision is None:
            self.metrics.record_event(topic, "signal")
            return
        assert isinstance(record, Recommendation)
        # The engine remembered this rec_id (a redelivery): the same decision again, sent
        # again, but counted as a duplicate rather than a new decision.
        duplicate = new_state is state and stored is not None
        latency = time.perf_counter() - started  # state read, decide, state write; not the send
        if decision.recommendation is not None:
            out = self.outputs["approved"]
            value = self.codec.encode("recommendation", decision.recommendation, out)
            headers = {DECISION_HEADER: bounds.decision_header(decision)}
        else:
            out = self.outputs["suppressed"]
            value = self.codec.encode("decision", decision, out)
            headers = {}
        await self.out_topics[out].send(
            key=key, value=value, headers=headers, key_serializer="raw", value_serializer="raw"
        )
        if duplicate:
            self.metrics.record_event(topic, "duplicate")
            return
        lag = time.time() - record.ts / 1000
        self.metrics.record_decision(
            decision, latency, lag, channel=record.channel, message_class=record.message_class
        )

    # -- periodic ---------------------------------------------------------------------------

    async def release_overdue(self) -> None:
        """Release held events whose partition has gone quiet (see ``PartitionOrderer``).

        Nothing is released during a rebalance: a held event's partition may belong to
        another worker afterwards, which reads it again from the committed offset.
        """
        if self.app.rebalancing:
            return
        for partition, orderer in list(self.orderers.items()):
            if len(orderer):
                await self._release_outside_stream(partition)

    def refresh_gauges(self) -> None:
        """Customers in the store; consumer lag (end offset minus committed offset) per
        assigned input partition. Partitions no longer assigned lose their lag series."""
        self.metrics.set_customers(len(self.table))  # RocksDB: a key scan
        consumer: Any = self.app.consumer
        assigned = {tp for tp in consumer.assignment() if tp.topic in self.kinds}
        self.forget_partitions(assigned)
        for tp in assigned:
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            committed = consumer._committed_offset.get(tp)  # faust's: the next offset to read
            if committed is None:  # nothing committed by the group yet
                last = self.last_offset.get(tp)
                committed = last + 1 if last is not None else 0
            self.metrics.set_consumer_lag(tp.topic, tp.partition, highwater - committed)
            self.lag_partitions.add(tp)

    def drop_all_held(self) -> None:
        """Forget every held and unacknowledged event (a rebalance or shutdown): each is read
        again from the committed offsets, here or by the partition's next owner; dropping
        the references also lets faust stop waiting for them (its unacked set is weak)."""
        self.orderers.clear()
        self.last_offset.clear()
        self.acks.forget()

    def forget_partitions(self, assigned: set[TP]) -> None:
        """Drop the lag series of every partition not in ``assigned`` (after a rebalance)."""
        for tp in self.lag_partitions - assigned:
            self.metrics.remove_consumer_lag(tp.topic, tp.partition)
        self.lag_partitions &= assigned

    async def _release_outside_stream(self, partition: int) -> None:
        # Table writes take their changelog partition from the current event, so an overdue
        # release outside the agent runs in the context of the held event it handles.
        async with self.releasing:
            orderer = self._orderer(partition)
            clock = self._hold_clock(partition, time.time())
            ready = orderer.pop_ready(lambda t, s: self._caught_up(t, partition, s), clock)
            for held_event, record in ready:
                if self.app.rebalancing:
                    break  # the rest is read again from the committed offset afterwards
                token = _current_event.set(weakref.ref(held_event))
                try:
                    await self._handle(held_event, record)
                finally:
                    _current_event.reset(token)
                self._finished(held_event)


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
) -> tuple[faust.App, Guardrail]:
    """Build the faust app from ``settings``; nothing connects until the worker starts."""
    policy = policy if policy is not None else load_policy(settings.policy)
    metrics = GuardrailMetrics(registry if registry is not None else CollectorRegistry())
    metrics.set_info(policy.version, package_version())
    metrics.set_holdout_percent(policy.holdout.percent)
    app = faust.App(settings.app_id, **faust_options(settings))
    setup_sensors(app, metrics.registry, "faust")  # faust's sensor, label lookups cached
    guardrail = Guardrail(app, settings, policy, metrics)
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
            await guardrail.on_event(event)

    @app.timer(interval=RELEASE_INTERVAL_S)
    async def release_overdue() -> None:
        await guardrail.release_overdue()

    @app.timer(interval=settings.gauge_interval_s)
    async def refresh_gauges() -> None:
        guardrail.refresh_gauges()

    rebalance.install(app, guardrail)
    send_failures.install(app)

    return app, guardrail
