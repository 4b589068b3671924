"""The single-machine file cache: culling is throttled and spares live entries."""

from __future__ import annotations

import time_machine

from fengqiao.core import cache as file_cache
from fengqiao.core.cache import FileCache


def make(tmp_path, max_entries: int) -> FileCache:
    return FileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": max_entries}})


def test_the_directory_is_scanned_at_most_once_per_interval(tmp_path, monkeypatch):
    cache = make(tmp_path, 1000)
    scans = []
    listed = cache._list_cache_files
    monkeypatch.setattr(cache, "_list_cache_files", lambda: scans.append(1) or listed())
    for n in range(50):
        cache.set(f"k{n}", n)
    assert len(scans) == 1
    monkeypatch.setattr(file_cache, "CULL_INTERVAL", 0.0)
    cache.set("later", 1)
    assert len(scans) == 2


def test_culling_removes_expired_entries_before_any_live_one(tmp_path, monkeypatch):
    monkeypatch.setattr(file_cache, "CULL_INTERVAL", 0.0)
    cache = make(tmp_path, 12)
    with time_machine.travel(0, tick=False) as clock:
        for n in range(8):
            cache.set(f"old{n}", n, timeout=5)
        for n in range(4):
            cache.set(f"live{n}", n, timeout=600)
        clock.shift(60)
        cache.set("new", 1, timeout=600)  # 12 entries ≥ 12: the 8 expired ones go, no live one
        assert [cache.get(f"live{n}") for n in range(4)] == [0, 1, 2, 3]
        assert cache.get("new") == 1
        assert len(cache._list_cache_files()) == 5


def test_a_cache_full_of_live_entries_still_culls_a_third(tmp_path, monkeypatch):
    monkeypatch.setattr(file_cache, "CULL_INTERVAL", 0.0)
    cache = make(tmp_path, 9)
    for n in range(9):
        cache.set(f"live{n}", n, timeout=600)
    cache.set("one-more", 1, timeout=600)
    assert len(cache._list_cache_files()) == 9 - 3 + 1
