"""The per-worker caches: ``BoundedCache`` (the oldest entries go first, for verdicts and row
versions) and ``TtlCache`` (entries expire after a time-to-live, for rows read from the database
that may change: scorer configs, API key rows, refused key checks).

Both are plain ``dict``s: every operation is a handful of C-level dict calls and never yields, so
they are safe to share between the greenlets of one process without a lock. Under real threads the
worst a race can do is lose an entry (one extra read or verification, never a wrong answer).
"""

from __future__ import annotations

import sys
import time
from itertools import islice
from typing import Any, Callable, Generic, Hashable, TypeVar

V = TypeVar("V")

_MISSING = object()

class BoundedCache(Generic[V]):
    """A size-bounded mapping that evicts the oldest entries first (FIFO). ``maxsize <= 0``
    disables it.

    A hit does not touch the dict: re-inserting on every hit (true LRU) leaves a deleted slot per
    lookup, and at thousands of lookups a second the dict re-allocates its multi-megabyte table every
    few seconds (CPU spikes, heap growth). Entries that age out are simply verified again. Holding
    only bytes keys and str/None values, the dict stays untracked by the garbage collector, so a full
    collection never walks it (an ``OrderedDict`` of 100,000 entries costs ~30 ms per collection with
    every request of the worker stalled).
    """

    __slots__ = ("maxsize", "_data", "hits", "misses", "_settled")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = int(maxsize)
        self._data: dict[Hashable, V] = {}
        self.hits = 0
        self.misses = 0
        self._settled = False

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data

    def get(self, key: Hashable, default: Any = None) -> V | Any:
        value = self._data.get(key, _MISSING)
        if value is _MISSING:
            self.misses += 1
            return default
        self.hits += 1
        return value

    def put(self, key: Hashable, value: V) -> None:
        if self.maxsize <= 0:
            return
        data = self._data
        if key in data:
            data[key] = value  # same slot: no reordering
            return
        data[key] = value
        if len(data) > self.maxsize:
            if not self._settled:
                self._settle()
            # Evict the oldest 1% at once: finding the first live key scans past the slots of
            # earlier deletions, so one scan per batch keeps eviction cheap. A concurrent thread
            # may evict the same keys: go on until the size is back within bounds.
            while len(data) > self.maxsize:
                try:
                    for old in list(islice(data, max(1, self.maxsize // 100))):
                        del data[old]
                except (KeyError, RuntimeError):  # changed by a concurrent thread
                    continue

    __setitem__ = put

    def discard(self, key: Hashable) -> None:
        self._data.pop(key, None)

    def _settle(self) -> None:
        """Bring the dict's table to the size it keeps while full, now, once.

        CPython appends every insertion to the table's entry array, and a deletion leaves its slot
        used. When the array is full, the table is rebuilt for three times the live entries. A dict
        that grew to ``maxsize`` therefore rebuilds once more after enough evictions, at twice the
        size (100,000 entries: 5.2 -> 10.5 MB), and keeps that size from then on. Left alone that
        happens at some point in a worker's life, and its memory grows by that step then. Here the
        churn is played out at once with throw-away keys: up to ``maxsize`` cheap insertions and
        deletions (~20 ms for 100,000, once), so a worker's memory settles when its cache fills."""
        self._settled = True
        data = self._data
        size = sys.getsizeof(data)
        previous = object()
        data[previous] = None
        for _ in range(2 * self.maxsize + 64):  # bounded whatever the interpreter does
            if sys.getsizeof(data) != size:
                break
            filler = object()
            data[filler] = None
            del data[previous]
            previous = filler
        del data[previous]

    def clear(self) -> None:
        self._data.clear()  # frees the table: the next fill settles it again
        self.hits = self.misses = 0
        self._settled = False


class TtlCache(Generic[V]):
    """Values kept ``ttl`` seconds (of ``clock``); ``ttl <= 0`` keeps nothing. At most ``maxsize``
    entries: when full, the expired ones are dropped, and all of them if none had expired."""

    __slots__ = ("ttl", "maxsize", "_clock", "_data")

    def __init__(self, ttl: float, maxsize: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.maxsize = maxsize
        self._clock = clock
        self._data: dict[Hashable, tuple[float, V]] = {}

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Hashable, default: Any = None) -> V | Any:
        hit = self._data.get(key)
        if hit is None or hit[0] <= self._clock():
            return default
        return hit[1]

    def put(self, key: Hashable, value: V) -> None:
        if self.ttl <= 0:
            return
        now = self._clock()
        if len(self._data) >= self.maxsize and key not in self._data:
            self._data = {k: hit for k, hit in self._data.items() if hit[0] > now}
            if len(self._data) >= self.maxsize:
                self._data.clear()
        self._data[key] = (now + self.ttl, value)

    def pop(self, key: Hashable) -> None:
        self._data.pop(key, None)
