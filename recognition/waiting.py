"""Bounded waiting for ``?wait=``: a waiting request holds a server thread, so only so many
may wait at once, per user (counted in the shared cache, so across web processes) and per
process. Past either cap the request is answered at once, as if it had not asked to wait.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

# A user's count left behind by a process that died mid-wait is forgotten after this long
# (the key is made with it and never extended; MAX_WAIT_SECONDS is 10).
USER_COUNT_TTL_SECONDS = 60

_lock = threading.Lock()
_waiting_here = 0


@contextmanager
def waiting_slot(user) -> Iterator[bool]:
    """Yields whether this request may wait now; the slot is given back however it ends."""
    if not _take_process_slot():
        yield False
        return
    try:
        if not _take_user_slot(user):
            yield False
            return
        try:
            yield True
        finally:
            _give_user_slot(user)
    finally:
        _give_process_slot()


def _take_process_slot() -> bool:
    global _waiting_here
    with _lock:
        if _waiting_here >= settings.MAX_WAITING_PER_PROCESS:
            return False
        _waiting_here += 1
        return True


def _give_process_slot() -> None:
    global _waiting_here
    with _lock:
        _waiting_here -= 1


def _key(user) -> str:
    return f"waiting:{user.pk}"


def _take_user_slot(user) -> bool:
    key = _key(user)
    try:
        count, _left = cache.window_count(key, USER_COUNT_TTL_SECONDS)
        if count > settings.MAX_WAITING_PER_USER:
            cache.window_uncount(key)
            return False
    except redis.RedisError as exc:  # the per-process cap still holds
        log.warning("cache unavailable, waits are not counted per user: %s", exc)
    return True


def _give_user_slot(user) -> None:
    try:
        cache.window_uncount(_key(user))
    except redis.RedisError as exc:
        log.warning("cache unavailable, a wait was not uncounted: %s", exc)
