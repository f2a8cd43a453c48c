"""Page records kept while the warehouse does not change, so that a page is read once per change.

Marketers open the same pages every morning, and the warehouse changes only when a command
(or the server's loader) writes it. The state of the database file and its write-ahead log
(size and modification time) says whether anything was written since a record was read; a
page whose state is unchanged is answered from memory without opening the warehouse. The cache
holds at most ``size`` records, the least recently used dropped first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path


def file_state(database: Path) -> tuple[int, ...]:
    """Size and modification time of the database file and of its write-ahead log."""
    state: list[int] = []
    for path in (database, database.with_name(database.name + ".wal")):
        try:
            found = path.stat()
        except FileNotFoundError:
            state += [-1, -1]
        else:
            state += [found.st_size, found.st_mtime_ns]
    return tuple(state)


class PageCache:
    """A bounded LRU of page records, keyed by what was asked and the warehouse state."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
