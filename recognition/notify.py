"""Telling a waiting request that its prediction has finished, without polling.

With a broker, the worker pushes to a short-lived Redis list per prediction and the
waiting request blocks on it (BLPOP): it wakes the moment the answer is stored and costs
nothing while it waits. In the embedded mode the two sides share a process and a
condition variable. The announcement carries the fields the worker has just written
(JSON), so the waiter need not read the row again. The database row stays the truth: a
missed, late or empty announcement only means the waiter reads the row.
"""
from __future__ import annotations

import json
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
_finished: OrderedDict[str, dict | None] = OrderedDict()  # recently finished (embedded mode)
_FINISHED_KEPT = 10_000

_redis: redis.Redis | None = None
_redis_url = ""


def _client() -> redis.Redis:
    global _redis, _redis_url
    if _redis is None or _redis_url != settings.CELERY_BROKER_URL:
        _redis_url = settings.CELERY_BROKER_URL
        _redis = redis.Redis.from_url(_redis_url, socket_connect_timeout=1, socket_timeout=12)
    return _redis


def announce(finished: dict) -> None:
    """Wake whoever waits for these predictions: ``finished`` maps each id to the fields
    written for it (JSON-ready), or to None to say "read the row". Never raises."""
    if settings.CELERY_BROKER_URL:
        try:
            pipe = _client().pipeline(transaction=False)
            for pk, fields in finished.items():
                key = KEY.format(pk)
                pipe.rpush(key, json.dumps(fields))
                pipe.expire(key, KEY_TTL_SECONDS)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("could not announce finished predictions: %s", exc)
        return
    with _condition:
        for pk, fields in finished.items():
            _finished[str(pk)] = fields
        while len(_finished) > _FINISHED_KEPT:
            _finished.popitem(last=False)
        _condition.notify_all()


def wait(prediction_id, timeout: float) -> dict | None:
    """Block until the prediction is announced finished or ``timeout`` passes.

    Returns the announced fields, or None (no announcement in time, or one without
    fields): then the caller reads the row.
    """
    pk = str(prediction_id)
    if timeout <= 0:
        return None
    if settings.CELERY_BROKER_URL:
        try:
            # BLPOP takes whole seconds on old servers; a float timeout works on Redis >= 6.
            item = _client().blpop([KEY.format(pk)], timeout=timeout)
        except redis.RedisError as exc:
            log.warning("cannot wait on Redis, falling back to the database: %s", exc)
            time.sleep(min(timeout, 0.5))
            return None
        try:
            fields = json.loads(item[1]) if item else None
        except ValueError:
            return None
        return fields if isinstance(fields, dict) else None
    with _condition:
        _condition.wait_for(lambda: pk in _finished, timeout=timeout)
        return _finished.get(pk)
