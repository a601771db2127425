"""Slots in this process, counted by key under one lock: what guards this process's own
threads (the ``?wait=`` requests of a web process, the webhook sends of a worker) is counted
here, in memory, not in a shared store."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class Slots:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held = 0
        self._by_key: Counter = Counter()

    @contextmanager
    def slot(self, key, *, per_key: int, total: int | None = None) -> Iterator[bool]:
        """Yields whether a slot was free: fewer than ``per_key`` held for ``key`` and, with
        ``total``, fewer than that held in all. A slot taken is given back however it ends."""
        with self._lock:
            free = self._by_key[key] < per_key and (total is None or self._held < total)
            if free:
                self._held += 1
                self._by_key[key] += 1
        if not free:
            yield False
            return
        try:
            yield True
        finally:
            with self._lock:
                self._held -= 1
                self._by_key[key] -= 1
                if not self._by_key[key]:
                    del self._by_key[key]  # the table holds only keys with slots taken now
