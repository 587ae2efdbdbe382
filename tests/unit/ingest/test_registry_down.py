"""A schema registry that cannot answer stops ingest (records are read again), never
dead-letters a good record; a registry request cannot hang for ever."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from confluent_kafka.schema_registry.error import SchemaRegistryError

from guardrail.ingest.runner import _avro_decoder, registry_down
from guardrail.ingest.transform import MapError
from guardrail.kafka import serde

WIRE = b"\x00" + struct.pack(">I", 7) + b"\x02"  # magic byte, schema id 7, a body


@pytest.mark.parametrize(
    ("exc", "down"),
    [
        (httpx.ConnectError("refused"), True),
        (httpx.ReadTimeout("slow"), True),
        (ConnectionResetError(), True),
        (SchemaRegistryError(503, 50301, "unavailable"), True),
        (SchemaRegistryError(429, 42900, "slow down"), True),
        (SchemaRegistryError(401, 40101, "unauthorized"), True),
        (SchemaRegistryError(404, 40403, "no such schema"), False),
        (ValueError("bad body"), False),
    ],
)
def test_what_counts_as_the_registry_down(exc: Exception, down: bool) -> None:
    assert registry_down(exc) is down


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


def test_a_registry_that_never_answers_is_unavailable_not_a_bad_record(silent_server: str) -> None:
    client = serde.registry_client(silent_server, timeout=0.3, **{"max.retries": 0})
    decode = _avro_decoder(client)
    started = time.monotonic()
    with pytest.raises(MapError) as err:
        decode(WIRE)
    assert err.value.error_kind == "registry_unavailable"
    assert time.monotonic() - started < 5


def test_a_refused_connection_is_unavailable_not_a_bad_record() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    decode = _avro_decoder(serde.registry_client(f"http://127.0.0.1:{port}", **{"max.retries": 0}))
    with pytest.raises(MapError) as err:
        decode(WIRE)
    assert err.value.error_kind == "registry_unavailable"


def test_registry_requests_have_a_timeout_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(
        "confluent_kafka.schema_registry.SchemaRegistryClient", lambda conf: seen.append(conf)
    )
    serde.registry_client("http://registry:8080")
    assert seen == [
        {
            "url": "http://registry:8080",
            "timeout": serde.REGISTRY_TIMEOUT_S,
            "max.retries": serde.REGISTRY_RETRIES,
        }
    ]
