"""The file cache of a single-machine deployment (rate limits, lockouts), culled sparingly.

Django's ``FileBasedCache`` lists the whole cache directory on every ``set`` to decide whether to
cull, so each write costs a directory scan that grows with the number of entries (one per client
address and window for the public rate limits: ≈ 1–2 ms a tracking page under load). And when it
does cull, it deletes a random third of the entries, live rate-limit counters and lockouts among
them. Here the scan runs at most once per ``CULL_INTERVAL`` seconds in each process, and culling
first removes what has expired; only a cache still over ``MAX_ENTRIES`` after that loses random
entries, as Django's would.
"""

from __future__ import annotations

import random
import threading
import time

from django.core.cache.backends.filebased import FileBasedCache

CULL_INTERVAL = 30.0


class FileCache(FileBasedCache):
    """``FileBasedCache`` whose culling is throttled and removes expired entries first."""

    def __init__(self, dir, params) -> None:
        super().__init__(dir, params)
        self._culled_at = float("-inf")
        self._cull_lock = threading.Lock()

    def _cull(self) -> None:
        now = time.monotonic()
        with self._cull_lock:
            if now - self._culled_at < CULL_INTERVAL:
                return
            self._culled_at = now
        files = self._list_cache_files()
        if len(files) < self._max_entries:
            return
        live = []
        for name in files:
            try:
                with open(name, "rb") as handle:
                    if not self._is_expired(handle):  # deletes the file when it has expired
                        live.append(name)
            except FileNotFoundError:
                pass
        if len(live) < self._max_entries:
            return
        if self._cull_frequency == 0:
            self.clear()
            return
        for name in random.sample(live, int(len(live) / self._cull_frequency)):
            self._delete(name)
