"""The contract's partitioner: the Java client's default, ``toPositive(murmur2(key)) % n``.

A record on another partition than its key's would be decided against another partition's
state (silently wrong), so the pipeline dead-letters it as ``wrong_partition``. librdkafka's
``murmur2_random`` computes the same for non-null keys; its default, ``consistent_random``
(CRC32), does not. The hash is Kafka's ``Utils.murmur2`` as aiokafka ports it to Python
(``aiokafka.partitioner.murmur2``), restated here with 32-bit masks where they are needed so
that mypyc compiles it with the rest of the pipeline: it runs for every record, and
aiokafka's interpreted one cost ~3% of the worker's CPU. Checked against the Java client's
test vectors and aiokafka's function in the unit tests.
"""

from __future__ import annotations

from typing import Final

_M: Final = 0x5BD1E995
_MASK: Final = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2(data)`` as an unsigned 32-bit int."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    end = length - length % 4
    for i in range(0, end, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    left = length - end
    if left >= 3:
        h ^= data[end + 2] << 16
    if left >= 2:
        h ^= data[end + 1] << 8
    if left >= 1:
        h = ((h ^ data[end]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def java_murmur2(key: bytes) -> int:
    """Kafka's ``Utils.murmur2(key)``: a signed 32-bit int, as Java returns it."""
    value: int = murmur2(key)
    return value - (1 << 32) if value & 0x80000000 else value


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
