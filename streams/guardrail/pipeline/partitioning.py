"""The contract's partitioner: the Java client's default, ``toPositive(murmur2(key)) % n``.

A record on another partition than its key's would be decided against another partition's
state (silently wrong), so the pipeline dead-letters it as ``wrong_partition``. librdkafka's
``murmur2_random`` computes the same for non-null keys; its default, ``consistent_random``
(CRC32), does not. The hash is aiokafka's pure-Python port of Kafka's ``Utils.murmur2``
(checked against the Java test vectors in the unit tests); no client is imported.
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import murmur2


def java_murmur2(key: bytes) -> int:
    """Kafka's ``Utils.murmur2(key)``: a signed 32-bit int, as Java returns it."""
    value: int = murmur2(key)
    return value - (1 << 32) if value & 0x80000000 else value


# A customer's records come back again and again; the pure-Python hash is ~4 us a key.
@lru_cache(maxsize=65_536)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition the Java client's default partitioner picks for ``key``."""
    value: int = murmur2(key)
    return (value & 0x7FFFFFFF) % partitions


def wrong_partition(key: bytes | None, partition: int, partitions: int) -> str | None:
    """Why a record with ``key`` does not belong on ``partition`` of ``partitions``, or None."""
    if key is None or partitions <= 0:
        return None  # a missing key is key_mismatch's business
    expected = partition_for(key, partitions)
    if expected == partition:
        return None
    return (
        f"wrong_partition: the key belongs on partition {expected} of {partitions} "
        f"(murmur2, the Java client's partitioner), not {partition}"
    )
