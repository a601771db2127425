"""Telling a waiting request that its prediction has finished, without polling.

With a broker, the worker pushes to a short-lived Redis list per prediction and the
waiting request blocks on it (BLPOP): it wakes the moment the answer is stored and costs
nothing while it waits. In the embedded mode the two sides share a process and a
condition variable. Either way the database row stays the truth: a missed or late
notification only means the waiter reads the row when its time is up.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

import redis
from django.conf import settings

log = logging.getLogger(__name__)

KEY = "digitrec:finished:{}"
KEY_TTL_SECONDS = 60

_condition = threading.Condition()
_finished: OrderedDict[str, None] = OrderedDict()  # recently finished ids (embedded mode)
_FINISHED_KEPT = 10_000

_redis: redis.Redis | None = None
_redis_url = ""


def _client() -> redis.Redis:
    global _redis, _redis_url
    if _redis is None or _redis_url != settings.CELERY_BROKER_URL:
        _redis_url = settings.CELERY_BROKER_URL
        _redis = redis.Redis.from_url(_redis_url, socket_connect_timeout=1, socket_timeout=12)
    return _redis


def announce(prediction_ids: list) -> None:
    """Wake whoever waits for these predictions. Never raises."""
    ids = [str(i) for i in prediction_ids]
    if settings.CELERY_BROKER_URL:
        try:
            pipe = _client().pipeline(transaction=False)
            for pk in ids:
                pipe.rpush(KEY.format(pk), 1)
                pipe.expire(KEY.format(pk), KEY_TTL_SECONDS)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("could not announce finished predictions: %s", exc)
        return
    with _condition:
        for pk in ids:
            _finished[pk] = None
        while len(_finished) > _FINISHED_KEPT:
            _finished.popitem(last=False)
        _condition.notify_all()


def wait(prediction_id, timeout: float) -> bool:
    """Block until the prediction is announced finished or ``timeout`` passes.

    Returns whether an announcement came; the caller reads the row either way.
    """
    pk = str(prediction_id)
    if timeout <= 0:
        return False
    if settings.CELERY_BROKER_URL:
        try:
            # BLPOP takes whole seconds on old servers; a float timeout works on Redis >= 6.
            return _client().blpop([KEY.format(pk)], timeout=timeout) is not None
        except redis.RedisError as exc:
            log.warning("cannot wait on Redis, falling back to the database: %s", exc)
            time.sleep(min(timeout, 0.5))
            return False
    with _condition:
        return _condition.wait_for(lambda: pk in _finished, timeout=timeout)
