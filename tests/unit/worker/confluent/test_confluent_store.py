"""Partition stores: buffered writes, flushed at a commit with the changelog offset."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.worker.confluent.store import MemoryStore, PartitionStore, RocksStore


def _stores(tmp_path: Path) -> list[PartitionStore]:
    return [MemoryStore(3), RocksStore(3, tmp_path / "p3", 1, 1)]


@pytest.mark.parametrize("kind", ["memory", "rocksdb"])
def test_writes_are_read_back_before_the_commit_and_kept_after_it(
    tmp_path: Path, kind: str
) -> None:
    store = _stores(tmp_path)[0 if kind == "memory" else 1]
    store.put(b"ana", b"1")
    store.put(b"ana", b"2")
    store.put(b"bo", b"x")
    store.delete(b"bo")
    assert store.get(b"ana") == b"2" and store.get(b"bo") is None
    assert sorted(store.changes()) == [(b"ana", b"2"), (b"bo", None)]  # each key once
    store.flush(41)
    assert store.get(b"ana") == b"2" and store.changelog_offset() == 41
    assert list(store.changes()) == []
    store.close()


@pytest.mark.parametrize("kind", ["memory", "rocksdb"])
def test_an_aborted_checkpoint_leaves_the_committed_state(tmp_path: Path, kind: str) -> None:
    store = _stores(tmp_path)[0 if kind == "memory" else 1]
    store.put(b"ana", b"1")
    store.flush(1)
    store.put(b"ana", b"2")
    store.put(b"cy", b"3")
    store.discard()
    assert store.get(b"ana") == b"1" and store.get(b"cy") is None
    assert store.changelog_offset() == 1
    store.close()


def test_rocksdb_keeps_state_and_changelog_offset_across_a_restart(tmp_path: Path) -> None:
    store = RocksStore(0, tmp_path / "p0", 1, 1)
    store.put(b"ana", b"1")
    store.flush(7)
    store.close()
    again = RocksStore(0, tmp_path / "p0", 1, 1)
    assert again.get(b"ana") == b"1" and again.changelog_offset() == 7
    again.reset()
    assert again.get(b"ana") is None and again.changelog_offset() is None
    again.close()


@pytest.mark.parametrize("kind", ["memory", "rocksdb"])
def test_count_says_how_many_customers_are_stored(tmp_path: Path, kind: str) -> None:
    store = {s.__class__.__name__: s for s in _stores(tmp_path)}[
        "MemoryStore" if kind == "memory" else "RocksStore"
    ]
    for key in (b"c-1", b"c-2", b"c-3"):
        store.put(key, b"{}")
    store.delete(b"c-2")
    store.flush(7)
    assert store.count() == 2


def test_an_erased_value_leaves_every_rocksdb_file(tmp_path: Path) -> None:
    store = RocksStore(0, tmp_path / "p0", 1, 1)
    store.put(b"c-erased", b'{"first_name":"Zelphinia"}')
    for n in range(20):
        store.put(f"c-{n}".encode(), b'{"first_name":"Other"}')
    store.flush(1)
    store.db.flush(True)  # the old value in a table file, not only in the write-ahead log
    store.erase(b"c-erased")
    store.put(b"c-erased", b'{"erased":true}')  # the erasure marker follows the tombstone
    store.flush(2)
    files = [p for p in (tmp_path / "p0").rglob("*") if p.is_file()]
    assert files and not [p.name for p in files if b"Zelphinia" in p.read_bytes()]
    assert store.get(b"c-erased") == b'{"erased":true}'
    assert sum(b"Other" in p.read_bytes() for p in files) >= 1  # the others are still there
