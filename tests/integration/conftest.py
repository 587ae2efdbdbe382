"""Session fixtures: a real local Kafka broker and, on demand, a real schema registry.

A service that cannot start makes the tests that need it fail (fixture error), never skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streams.kafka_local import LocalKafka, LocalRegistry, free_ports

START_TIMEOUT = 240.0  # a cold cache downloads Kafka or Apicurio first


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A single-node KRaft broker on free ports in a temp data dir; `.bootstrap` to connect.

    Tests may `.stop()` and `.start()` it (same ports and data); it is stopped at session end.
    """
    port, controller_port = free_ports(2)
    broker = LocalKafka(
        port, controller_port=controller_port, data_dir=tmp_path_factory.mktemp("kafka")
    )
    broker.start(timeout=START_TIMEOUT)
    try:
        yield broker
    finally:
        broker.stop(quiet=True)


@pytest.fixture(scope="session")
def schema_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """Apicurio Registry (in memory) on a free port; `.url` is the Confluent-compatible base."""
    (port,) = free_ports(1)
    registry = LocalRegistry(port, data_dir=tmp_path_factory.mktemp("registry"))
    registry.start(timeout=START_TIMEOUT)
    try:
        yield registry
    finally:
        registry.stop(quiet=True)
