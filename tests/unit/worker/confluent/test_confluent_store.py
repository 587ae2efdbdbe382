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
