"""The shared cache: Django's Redis cache, open when Redis is not."""
from __future__ import annotations

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError, TimeoutError

log = logging.getLogger(__name__)

WARN_EVERY_SECONDS = 10


class FailOpenRedisCache(RedisCache):
    """A Redis it cannot reach reads as empty and drops writes, with a warning now and then.

    The cache holds only throttle counters: while Redis is down they stop counting (the
    requests go through) rather than every API request failing. Login lockouts are kept
    in the database and still hold.
    """

    _last_warning = 0.0

    def _unreachable(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - FailOpenRedisCache._last_warning >= WARN_EVERY_SECONDS:
            FailOpenRedisCache._last_warning = now
            log.warning("cache unavailable, throttles are not counting: %s", exc)

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
