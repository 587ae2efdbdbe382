"""Sort more lines than fit in memory: an external merge sort over sorted spill files.

Lines are added with a sort key; every ``chunk`` lines the buffer is sorted and written to a
temporary file, and the result is a k-way merge (``heapq.merge``) of those files, read line
by line. Memory holds one chunk plus one line per spill file, whatever the total.

Why not per partition: a customer's events do sit on one partition of each topic, but the
five topics still interleave and a partition mixes many customers whose times are not in
order, so each partition would need sorting anyway. One sort over all records, keyed by
(customer, ts, signals before recommendations, arrival), gives the same per-customer order
the worker's ordering hold aims at, and the file reads customer by customer.
"""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

DEFAULT_CHUNK = 50_000
SortKey = tuple[Any, ...]


class SpillSorter:
    """Add ``(key, line)`` pairs, then iterate :meth:`sorted_lines` once."""

    def __init__(self, chunk: int = DEFAULT_CHUNK, workdir: Path | None = None) -> None:
        if chunk < 1:
            raise ValueError("chunk must be at least 1")
        self.chunk = chunk
        self._dir = tempfile.TemporaryDirectory(prefix="guardrail-sort-", dir=workdir)
        self._buffer: list[tuple[SortKey, str]] = []
        self._spills: list[Path] = []
        self.count = 0

    @property
    def spills(self) -> int:
        return len(self._spills)

    def add(self, key: SortKey, line: str) -> None:
        self._buffer.append((key, line))
        self.count += 1
        if len(self._buffer) >= self.chunk:
            self._spill()

    def _spill(self) -> None:
        self._buffer.sort(key=lambda pair: pair[0])
        path = Path(self._dir.name) / f"{len(self._spills):06d}.spill"
        with path.open("wb") as out:
            for key, line in self._buffer:
                # a JSON key never holds a raw tab: the first tab ends it
                out.write(orjson.dumps(key) + b"\t" + line.encode() + b"\n")
        self._spills.append(path)
        self._buffer = []

    def sorted_lines(self) -> Iterator[str]:
        """Every line in key order (equal keys: in the order they were added)."""
        try:
            if not self._spills:  # it all fitted: no file needed
                self._buffer.sort(key=lambda pair: pair[0])
                yield from (line for _, line in self._buffer)
                return
            if self._buffer:
                self._spill()
            handles = [path.open("rb") for path in self._spills]
            try:
                merged = heapq.merge(*(_entries(h) for h in handles), key=lambda e: e[0])
                for _, line in merged:
                    yield line
            finally:
                for handle in handles:
                    handle.close()
        finally:
            self.close()

    def close(self) -> None:
        self._buffer = []
        self._dir.cleanup()


def _entries(handle: IO[bytes]) -> Iterator[tuple[list[Any], str]]:
    for raw in handle:
        key, _, line = raw.partition(b"\t")
        yield orjson.loads(key), line.rstrip(b"\n").decode()
