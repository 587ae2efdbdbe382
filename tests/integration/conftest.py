"""Session fixtures: a real local Kafka broker and, on demand, a real schema registry.

A service that cannot start makes the tests that need it fail (fixture error), never skip.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardrail.devstack.kafka import LocalKafka, SaslSslListener, free_ports
from guardrail.devstack.registry import LocalRegistry
from kafka_helpers import PASSWORD, USER

START_TIMEOUT = 240.0  # a cold cache downloads Kafka or Apicurio first
# Every test that starts a worker runs once per runtime (GUARDRAIL_RUNTIME).
RUNTIMES = ("faust", "confluent")


@pytest.fixture(scope="session")
def _service_dirs() -> Iterator[Path]:
    # Not tmp_path_factory: a concurrent pytest run may prune older basetemps, which would
    # delete a running broker's data from under it.
    root = Path(tempfile.mkdtemp(prefix="guardrail-it-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_broker(_service_dirs: Path) -> Iterator[LocalKafka]:
    """A single-node KRaft broker on free ports in a temp data dir; `.bootstrap` to connect.

    Tests may `.stop()` and `.start()` it (same ports and data); it is stopped at session end.
    """
    port, controller_port = free_ports(2)
    broker = LocalKafka(port, controller_port=controller_port, data_dir=_service_dirs / "kafka")
    broker.start(timeout=START_TIMEOUT)
    try:
        yield broker
    finally:
        broker.stop(quiet=True)


@pytest.fixture(scope="session")
def schema_registry(_service_dirs: Path) -> Iterator[LocalRegistry]:
    """Apicurio Registry (in memory) on a free port; `.url` is the Confluent-compatible base."""
    (port,) = free_ports(1)
    registry = LocalRegistry(port, data_dir=_service_dirs / "registry")
    registry.start(timeout=START_TIMEOUT)
    try:
        yield registry
    finally:
        registry.stop(quiet=True)


@pytest.fixture(scope="session", params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    """The worker runtime under test: each test that asks for it runs for both."""
    return str(request.param)


@pytest.fixture(scope="session")
def secure_broker(_service_dirs: Path) -> Iterator[tuple[LocalKafka, Path]]:
    """A dedicated broker with a SASL/PLAIN-over-TLS listener (``USER``/``PASSWORD``) and a
    fresh test CA; yields the broker and the CA file."""
    from guardrail.devstack.tls import make_test_pki

    root = _service_dirs / "secure"
    pki = make_test_pki(root / "pki")
    port, controller, secure = free_ports(3)
    listener = SaslSslListener(secure, pki.keystore_file, {USER: PASSWORD})
    broker = LocalKafka(
        port, controller_port=controller, data_dir=root / "kafka", sasl_ssl=listener
    )
    broker.start(timeout=START_TIMEOUT)
    try:
        yield broker, pki.ca_file
    finally:
        broker.stop(quiet=True)
