"""Closed by default: a running worker listens on no wildcard address and serves no customer
data on any port it opened, whichever path is asked for (faust's table, router, graph and
stats endpoints included). With faust's web server switched on, it still binds 127.0.0.1 and
serves none of faust's data endpoints."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from guardrail.devstack.kafka import LocalKafka, free_port
from guardrail.worker.process import WorkerProcess
from kafka_helpers import produce, wait_decisions, worker_settings

pytestmark = pytest.mark.integration

WILDCARDS = {"0.0.0.0", "::", ""}
FIRST_NAME = "Quillonette"


def customer_paths(customer: str) -> list[str]:
    """Every route faust's web apps define (tables, router, graph, stats, performance, the
    index) with this customer's key where a route takes one, plus ours."""
    table = "customer-state"
    return [
        "/",
        "/metrics",
        "/livez",
        "/readyz",
        "/table/",
        f"/table/{table}/",
        f"/table/{table}/{customer}/",
        "/router/",
        "/router/topics",
        f"/router/{table}/",
        f"/router/{table}/{customer}/",
        "/graph/",
        "/stats/",
        "/assignment/",
        "/performance/",
    ]


def listening(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket the process listens on."""
    process = psutil.Process(pid)
    return sorted(
        (conn.laddr.ip, conn.laddr.port)
        for conn in process.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN
    )


def test_no_wildcard_listener_and_no_customer_data_on_any_path(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    scan_a_running_worker(kafka_broker, tmp_path, runtime, web_enabled=False)


def test_faust_web_switched_on_binds_loopback_and_serves_no_table(
    kafka_broker: LocalKafka, tmp_path: Path
) -> None:
    scan_a_running_worker(kafka_broker, tmp_path, "faust", web_enabled=True)


def scan_a_running_worker(
    broker: LocalKafka, tmp_path: Path, runtime: str, web_enabled: bool
) -> None:
    customer = f"c-exposed-{uuid.uuid4().hex[:6]}"
    # The defaults of the settings for everything that listens; ports free so tests can run
    # side by side. RocksDB, as in production.
    settings = worker_settings(
        broker,
        tmp_path / "data",
        runtime=runtime,
        store="rocksdb://",
        metrics_port=free_port(),
        max_hold_ms=200,
        web_enabled=web_enabled,
    )
    now = int(time.time() * 1000)
    profile = {
        "event_id": "p-1",
        "customer_id": customer,
        "ts": now - 60_000,
        "first_name": FIRST_NAME,
        "timezone": "Europe/Lisbon",
    }
    rec = {"rec_id": "r-1", "customer_id": customer, "ts": now, "channel": "email",
           "trigger": "batch", "items": [{"sku": "B-1", "category": "books"}],
           "title": None, "body": "Hi [First Name], new books.", "data_sources": []}  # fmt: skip
    with WorkerProcess(settings, tmp_path / "worker.log").start() as worker:
        assert worker.process is not None
        produce(settings, [
            (settings.topic("profile"), customer.encode(), json.dumps(profile).encode()),
            (settings.topic("recommendation"), customer.encode(), json.dumps(rec).encode()),
        ])  # fmt: skip
        wait_decisions(settings, ["r-1"])  # the state with the first name is stored now
        sockets = listening(worker.process.pid)
        ports = {port for _, port in sockets}
        assert settings.metrics_port in ports, sockets  # the scan does see our server
        assert (settings.web_port in ports) == web_enabled, sockets
        assert not [s for s in sockets if s[0] in WILDCARDS], sockets
        served = 0
        for address, port in sockets:
            for path in customer_paths(customer):
                host = f"[{address}]" if ":" in address else address
                response = httpx.get(f"http://{host}:{port}{path}", timeout=10)
                body = response.text
                assert FIRST_NAME not in body, (port, path, response.status_code)
                assert customer not in body, (port, path, response.status_code)
                served += response.status_code == 200
        assert served >= 1  # /metrics answered: the paths were really asked
