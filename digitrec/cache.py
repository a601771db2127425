"""The shared cache: Django's Redis cache, open when Redis is not; or, with no Redis (the
embedded mode's one process), local memory.

Both count requests in fixed windows (``window_count``), which the throttles use: with
Redis that is one round trip (SET NX EX, INCR and PTTL in one MULTI/EXEC), where the cache
API's add, incr (EXISTS then INCRBY) and a get for the window's end took four.
"""
from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError, TimeoutError

log = logging.getLogger(__name__)

WARN_EVERY_SECONDS = 10

class SharedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, with one redis-py client per connection pool instead of a
    new one per call (building one fills a table of 170 response callbacks)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def window_count(self, key, seconds: int) -> tuple[int, float]:
        with self.get_client(key, write=True).pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=seconds, nx=True)
            pipe.incr(key)
            pipe.pttl(key)
            _, count, left_ms = pipe.execute()
        return count, max(left_ms, 0) / 1000

    def window_peek(self, key) -> tuple[int, float]:
        with self.get_client(key).pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.pttl(key)
            count, left_ms = pipe.execute()
        return int(count or 0), max(left_ms, 0) / 1000


class FailOpenRedisCache(RedisCache):
    """A Redis it cannot reach reads as empty and drops writes, with a warning now and then.

    The cache holds only throttle counters: while Redis is down they stop counting (the
    requests go through) rather than every API request failing. Login lockouts are kept
    in the database and still hold.
    """

    _last_warning = 0.0

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient

    def _unreachable(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - FailOpenRedisCache._last_warning >= WARN_EVERY_SECONDS:
            FailOpenRedisCache._last_warning = now
            log.warning("cache unavailable, throttles are not counting: %s", exc)

    def window_count(self, key: str, seconds: int) -> tuple[int, float]:
        """Count one more in ``key``'s window, which opens with its first count and lasts
        ``seconds``: returns this count and the seconds left in the window."""
        try:
            return self._cache.window_count(self.make_and_validate_key(key), seconds)
        except (ConnectionError, TimeoutError) as exc:
            self._unreachable(exc)
            return 1, float(seconds)  # an empty store: a first count

    def window_peek(self, key: str) -> tuple[int, float]:
        """``key``'s count and the seconds left in its window, counting nothing (0, 0 if none)."""
        try:
            return self._cache.window_peek(self.make_and_validate_key(key))
        except (ConnectionError, TimeoutError) as exc:
            self._unreachable(exc)
            return 0, 0.0

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except (ConnectionError, TimeoutError) as exc:
            self._unreachable(exc)
            return default

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().add(key, value, timeout, version)
        except (ConnectionError, TimeoutError) as exc:
            self._unreachable(exc)
            return True  # an empty store takes any key: the throttle counts a first request

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except (ConnectionError, TimeoutError) as exc:
            self._unreachable(exc)
            return delta

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().touch(key, timeout, version)
        except (ConnectionError, TimeoutError) as exc:
            self._unreachable(exc)
            return False

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            super().set(key, value, timeout, version)
        except (ConnectionError, TimeoutError) as exc:
            self._unreachable(exc)


_local_windows = threading.Lock()


class LocalCache(LocMemCache):
    """This process's memory, with the same window counts (a lock makes them atomic)."""

    def window_count(self, key: str, seconds: int) -> tuple[int, float]:
        with _local_windows:
            count, ends = self.get(key) or (0, time.monotonic() + seconds)
            left = ends - time.monotonic()
            self.set(key, (count + 1, ends), left)
            return count + 1, left

    def window_peek(self, key: str) -> tuple[int, float]:
        count, ends = self.get(key) or (0, time.monotonic())
        return count, max(ends - time.monotonic(), 0.0)
