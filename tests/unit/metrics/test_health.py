"""The metrics port: /metrics, /livez, /readyz, 404 elsewhere, loopback by default, one-line
errors when it cannot listen."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from guardrail.metrics.health import BindError, HealthServer
from guardrail.metrics.metric_set import GuardrailMetrics
from guardrail.worker.health import loop_answers


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def server() -> HealthServer:
    metrics = GuardrailMetrics(CollectorRegistry())
    server = HealthServer(metrics.registry, 0)
    yield server
    server.close()


def test_before_the_runtime_exists_the_process_is_alive_and_not_ready(server: HealthServer) -> None:
    assert get(server.port, "/livez") == (200, "starting\n")
    assert get(server.port, "/readyz") == (503, "starting\n")


def test_probes_follow_the_runtime_checks(server: HealthServer) -> None:
    server.set_checks(lambda: (True, "ok"), lambda: (False, "recovering state"))
    assert get(server.port, "/livez") == (200, "ok\n")
    assert get(server.port, "/readyz") == (503, "recovering state\n")
    server.set_checks(lambda: (False, "the event loop does not answer"), lambda: (True, "ok"))
    assert get(server.port, "/livez")[0] == 503


def test_a_probe_that_raises_fails_without_a_traceback(server: HealthServer) -> None:
    def broken() -> tuple[bool, str]:
        raise KeyError("c-000042")

    server.set_checks(broken, broken)
    assert get(server.port, "/readyz") == (503, "probe failed: KeyError\n")


def test_metrics_are_served_with_process_metrics_and_no_created_series(
    server: HealthServer,
) -> None:
    status, body = get(server.port, "/metrics")
    assert status == 200
    assert "guardrail_decisions_total" in body
    assert "process_resident_memory_bytes" in body and "process_cpu_seconds_total" in body
    assert "_created" not in body


@pytest.mark.parametrize("path", ["/", "/table/customer-state/c-1/", "/metricsx", "/livez/x"])
def test_every_other_path_is_a_404(server: HealthServer, path: str) -> None:
    assert get(server.port, path)[0] == 404


def test_it_listens_on_loopback_by_default(server: HealthServer) -> None:
    assert server.address == "127.0.0.1"


def test_a_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BindError) as err:
            HealthServer(CollectorRegistry(), port)
    assert str(err.value) == (
        f"cannot serve metrics on 127.0.0.1:{port}: the port is in use "
        "(set GUARDRAIL_METRICS_PORT / GUARDRAIL_METRICS_BIND)"
    )


def test_the_worker_command_on_a_port_in_use_exits_with_that_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"PATH": "/usr/bin:/bin", "GUARDRAIL_METRICS_PORT": str(port)}
        done = subprocess.run(
            [sys.executable, "-m", "guardrail", "worker"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"Error: cannot serve metrics on 127.0.0.1:{port}: the port is in use "
        "(set GUARDRAIL_METRICS_PORT / GUARDRAIL_METRICS_BIND)"
    ]


def test_an_address_that_is_not_local_is_one_clear_line() -> None:
    with pytest.raises(BindError, match=r"^cannot serve metrics on 192\.0\.2\.1:\d+: no such"):
        HealthServer(CollectorRegistry(), 0, bind="192.0.2.1")


def test_a_running_loop_answers_and_a_blocked_one_does_not() -> None:
    loop = asyncio.new_event_loop()
    release = threading.Event()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        assert loop_answers(loop, timeout=5)
        loop.call_soon_threadsafe(release.wait)  # a blocking call inside the loop
        assert not loop_answers(loop, timeout=0.3)
    finally:
        release.set()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
    assert not loop_answers(loop)
