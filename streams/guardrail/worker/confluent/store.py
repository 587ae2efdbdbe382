"""Customer state of one input partition: RocksDB (or a dict) under an update buffer.

Borrowed from quix-streams' state transactions: reads go to the buffer first, then the store;
writes only go to the buffer. At a checkpoint every changed key is written once to the
changelog (inside the Kafka transaction), and once that transaction committed the buffer goes
into RocksDB in one write batch together with the changelog offset it reached, so a restart
restores only the changelog records after it. A transaction that is aborted drops the buffer:
the store still holds exactly what the committed changelog holds.
"""

from __future__ import annotations

import gc
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rocksdict import Options, Rdict, WriteBatch

log = logging.getLogger(__name__)

META = "meta"
CHANGELOG_OFFSET = b"changelog-offset"
EXACT_COUNT_UP_TO = 100_000
# What a deleted key holds in the buffer until the checkpoint.
DELETED = None


class PartitionStore:
    """One partition's state: a committed store and the buffer of the open checkpoint."""

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.buffer: dict[bytes, bytes | None] = {}
        # Erased keys: a tombstone goes to the changelog before their new value, so that
        # compaction forgets every earlier state of the customer.
        self.erased: set[bytes] = set()

    # -- the committed store (RocksDB or memory) ----------------------------------------------

    def _get(self, key: bytes) -> bytes | None:
        raise NotImplementedError

    def _write(self, updates: dict[bytes, bytes | None], changelog_offset: int | None) -> None:
        raise NotImplementedError

    def changelog_offset(self) -> int | None:
        """The last changelog offset this store holds (None: nothing restored yet)."""
        raise NotImplementedError

    def count(self) -> int:
        """Customers stored (an estimate for RocksDB)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the store (its data stays on disk)."""

    def reset(self) -> None:
        """Forget everything (the changelog was recreated below what the store holds)."""
        raise NotImplementedError

    # -- the buffered view -------------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        if key in self.buffer:
            return self.buffer[key]
        return self._get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.buffer[key] = value

    def delete(self, key: bytes) -> None:
        self.buffer[key] = DELETED

    def erase(self, key: bytes) -> None:
        """Delete ``key`` with a tombstone on the changelog even if a new value follows."""
        self.buffer[key] = DELETED
        self.erased.add(key)

    def __contains__(self, key: bytes) -> bool:
        return self.get(key) is not None

    def changes(self) -> Iterator[tuple[bytes, bytes | None]]:
        """Each key changed since the last checkpoint, once, with its last value."""
        return iter(self.buffer.items())

    def flush(self, changelog_offset: int | None) -> None:
        """The checkpoint committed: the buffer goes into the store (one write batch)."""
        if self.buffer or changelog_offset is not None:
            self._write(self.buffer, changelog_offset)
        erased = self.erased
        self.buffer = {}
        self.erased = set()
        if erased:
            self.purge(erased)

    def purge(self, keys: set[bytes]) -> None:
        """Make erased ``keys``' earlier values unreadable on disk (nothing for memory)."""

    def discard(self) -> None:
        """The checkpoint was aborted: forget what it changed."""
        self.buffer = {}
        self.erased = set()

    def restore(self, records: list[tuple[bytes, bytes | None]], changelog_offset: int) -> None:
        """Apply changelog records read on assignment, up to ``changelog_offset``."""
        self._write(dict(records), changelog_offset)


class MemoryStore(PartitionStore):
    """State in a dict (``memory://``): restored from the whole changelog on assignment."""

    def __init__(self, partition: int) -> None:
        super().__init__(partition)
        self.data: dict[bytes, bytes] = {}
        self.offset: int | None = None

    def _get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def _write(self, updates: dict[bytes, bytes | None], changelog_offset: int | None) -> None:
        for key, value in updates.items():
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value
        if changelog_offset is not None:
            self.offset = changelog_offset

    def changelog_offset(self) -> int | None:
        return self.offset

    def count(self) -> int:
        return len(self.data)

    def reset(self) -> None:
        self.data.clear()
        self.offset = None
        self.buffer = {}


def _options(write_buffer_mb: int, block_cache_mb: int) -> Options:
    from rocksdict import BlockBasedOptions, Cache

    options = Options(raw_mode=True)
    options.create_if_missing(True)
    options.create_missing_column_families(True)
    options.set_write_buffer_size(write_buffer_mb << 20)
    options.set_max_write_buffer_number(2)
    table = BlockBasedOptions()
    table.set_block_cache(Cache(block_cache_mb << 20))
    options.set_block_based_table_factory(table)
    return options


class RocksStore(PartitionStore):
    """State in RocksDB (``rocksdb://``), one database per partition; the changelog offset it
    reached is stored in a column family of its own, written in the same batch as the data."""

    def __init__(self, partition: int, path: Path, write_buffer_mb: int, block_cache_mb: int):
        super().__init__(partition)
        self.path = path
        self.sizes = (write_buffer_mb, block_cache_mb)
        self._open()

    def _open(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        options = _options(*self.sizes)
        meta_options = Options(raw_mode=True)
        self.db: Any = Rdict(str(self.path), options, column_families={META: meta_options})
        self.meta_handle: Any = self.db.get_column_family_handle(META)
        self.meta: Any = self.db.get_column_family(META)

    def _get(self, key: bytes) -> bytes | None:
        value: bytes | None = self.db.get(key)
        return value

    def _write(self, updates: dict[bytes, bytes | None], changelog_offset: int | None) -> None:
        batch = WriteBatch(raw_mode=True)
        for key, value in updates.items():
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        if changelog_offset is not None:
            batch.put(CHANGELOG_OFFSET, str(changelog_offset).encode(), self.meta_handle)
        self.db.write(batch)

    def purge(self, keys: set[bytes]) -> None:
        """After an erasure, the customer's earlier values leave the database's files: the
        memtables go to disk (so the write-ahead log holding the old values is dropped), then
        the keys' range is compacted, which rewrites every file that held an old version."""
        purge_rocksdb(self.db, keys, self.meta)

    def changelog_offset(self) -> int | None:
        value = self.meta.get(CHANGELOG_OFFSET)
        return int(value) if value is not None else None

    def count(self) -> int:
        # RocksDB's estimate counts overwritten and deleted keys too until compaction; exact
        # (a key scan) while that is cheap, the estimate for big stores.
        estimate = int(self.db.property_int_value("rocksdb.estimate-num-keys") or 0)
        if estimate > EXACT_COUNT_UP_TO:
            return estimate
        # (not `for _ in self.db`: iterating a raw-mode Rdict raises KeyError)
        return sum(1 for _ in self.db.keys())  # noqa: SIM118

    def close(self) -> None:
        self.meta = None
        self.meta_handle = None
        self.db.close()
        self.db = None
        gc.collect()  # the handles keep RocksDB's lock until they are collected

    def reset(self) -> None:
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)
        self.buffer = {}
        self._open()


def purge_rocksdb(db: Any, keys: set[bytes], *column_families: Any) -> None:
    """Flush ``db`` (and ``column_families`` sharing its write-ahead log), then compact the
    range of each key: no file of the database holds a value those keys had before."""
    db.flush(True)
    for family in column_families:
        family.flush(True)
    for key in keys:
        db.compact_range(key, key + b"\x00")


def open_store(settings: Any, partition: int) -> PartitionStore:
    """The store of ``partition`` as ``settings.store`` says (``rocksdb://`` or ``memory://``)."""
    if settings.store.startswith("memory://"):
        return MemoryStore(partition)
    path = Path(settings.data_dir) / settings.app_id / "confluent" / f"partition-{partition}"
    return RocksStore(
        partition, path, settings.rocksdb_write_buffer_mb, settings.rocksdb_block_cache_mb
    )
