"""Bounded waiting for ``?wait=``: a waiting request holds a server thread, so only so many
may wait at once in a web process, and only so many of them may be one user's. Past either
cap the request is answered at once, as if it had not asked to wait.

Both caps guard this process's threads, so both are counted here, in memory: a user with
requests in several web processes may wait in each, as each has threads of its own.
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

_lock = threading.Lock()
_waiting_here = 0
_waiting_by_user: Counter = Counter()


@contextmanager
def waiting_slot(user) -> Iterator[bool]:
    """Yields whether this request may wait now; the slot is given back however it ends."""
    if not _take_slot(user.pk):
        yield False
        return
    try:
        yield True
    finally:
        _give_slot(user.pk)


def _take_slot(user_pk) -> bool:
    global _waiting_here
    with _lock:
        if (_waiting_here >= settings.MAX_WAITING_PER_PROCESS
                or _waiting_by_user[user_pk] >= settings.MAX_WAITING_PER_USER):
            return False
        _waiting_here += 1
        _waiting_by_user[user_pk] += 1
        return True


def _give_slot(user_pk) -> None:
    global _waiting_here
    with _lock:
        _waiting_here -= 1
        _waiting_by_user[user_pk] -= 1
        if not _waiting_by_user[user_pk]:
            del _waiting_by_user[user_pk]  # the table holds only users waiting now
