"""The export's external merge sort: right order across many spill files, and memory that
stays bounded by the chunk, not by how many lines go through."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

import pytest

from guardrail.tools.spill_sort import SpillSorter


def _keys(n: int, seed: int = 1) -> list[tuple[str, int, int, int]]:
    rng = random.Random(seed)
    return [
        (f"c-{rng.randrange(500):04d}", rng.randrange(10_000), rng.randrange(2), i)
        for i in range(n)
    ]


@pytest.mark.parametrize("chunk", [1, 7, 1000, 100_000])
def test_lines_come_out_in_key_order_whatever_the_chunk(chunk: int, tmp_path: Path) -> None:
    keys = _keys(3000)
    sorter = SpillSorter(chunk, tmp_path)
    for key in keys:
        sorter.add(key, f"line {key[3]}")
    got = list(sorter.sorted_lines())
    assert got == [f"line {k[3]}" for k in sorted(keys)]
    assert sorter.spills == (0 if chunk >= 3000 else -(-3000 // chunk))
    assert list(tmp_path.iterdir()) == []  # spill files removed


def test_lines_keep_tabs_and_unicode(tmp_path: Path) -> None:
    sorter = SpillSorter(1, tmp_path)
    sorter.add(("b\t", 1), '{"body": "tab\\there ü"}')
    sorter.add(("a", 2), "second\tcolumn")
    assert list(sorter.sorted_lines()) == ["second\tcolumn", '{"body": "tab\\there ü"}']


def test_memory_is_bounded_by_the_chunk_not_the_total(tmp_path: Path) -> None:
    """100,000 lines of ~300 bytes (30 MB of text, ~45 MB as Python objects) through a
    5,000-line chunk: the Python heap's peak stays under 8 MB."""
    body = "x" * 280
    tracemalloc.start()
    try:
        sorter = SpillSorter(5_000, tmp_path)
        rng = random.Random(3)
        for i in range(100_000):
            sorter.add(
                (f"c-{rng.randrange(20_000):05d}", rng.randrange(10**9), 0, i), f"{i}:{body}"
            )
        previous, count = "", 0
        for line in sorter.sorted_lines():
            count += 1
            previous = line
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000 and previous.endswith(body)
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
