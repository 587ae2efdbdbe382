"""The contract's partitioner agrees with Kafka's own Java test vectors (UtilsTest.testMurmur2)."""

from __future__ import annotations

import zlib

import pytest

from guardrail.pipeline.partitioning import java_murmur2, partition_for, wrong_partition

# org.apache.kafka.common.utils.UtilsTest#testMurmur2
JAVA_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize("key, expected", JAVA_VECTORS.items())
def test_murmur2_equals_the_java_clients(key: bytes, expected: int) -> None:
    assert java_murmur2(key) == expected


@pytest.mark.parametrize("key, expected", JAVA_VECTORS.items())
def test_the_partition_is_to_positive_murmur2_mod_n(key: bytes, expected: int) -> None:
    for n in (1, 2, 3, 8, 12, 100):
        assert partition_for(key, n) == (expected & 0x7FFFFFFF) % n


def test_a_record_on_its_keys_partition_passes() -> None:
    assert wrong_partition(b"c-000042", partition_for(b"c-000042", 8), 8) is None


def test_a_record_placed_by_crc32_is_wrong_and_says_where_it_belongs() -> None:
    # librdkafka's consistent_random: crc32(key) % n; find a key where the two disagree
    key = next(
        k
        for i in range(100)
        if (k := f"c-{i:06d}".encode()) and zlib.crc32(k) % 8 != partition_for(k, 8)
    )
    placed = zlib.crc32(key) % 8
    reason = wrong_partition(key, placed, 8)
    assert reason == (
        f"wrong_partition: the key belongs on partition {partition_for(key, 8)} of 8 "
        f"(murmur2, the Java client's partitioner), not {placed}"
    )


def test_no_key_or_one_partition_is_never_wrong() -> None:
    assert wrong_partition(None, 3, 8) is None
    assert wrong_partition(b"anything", 0, 1) is None


def test_the_compiled_hash_is_aiokafkas_for_keys_of_every_length() -> None:
    from aiokafka.partitioner import murmur2 as aiokafka_murmur2

    from guardrail.pipeline.partitioning import murmur2

    keys = [bytes(range(n)) for n in range(0, 40)] + [b"\xff" * n for n in range(1, 12)]
    keys += [f"c-{n:06d}".encode() for n in range(0, 5000, 7)]
    for key in keys:
        assert murmur2(key) == aiokafka_murmur2(key), key
