"""Bounded waiting for ``?wait=``: a waiting request holds a server thread, so only so many
may wait at once in a web process, and only so many of them may be one user's. Past either
cap the request is answered at once, as if it had not asked to wait.

Both caps guard this process's threads, so both are counted here, in memory: a user with
requests in several web processes may wait in each, as each has threads of its own.
"""
from __future__ import annotations

from contextlib import AbstractContextManager

from django.conf import settings

from recognition.slots import Slots

_waiting = Slots()


def waiting_slot(user) -> AbstractContextManager[bool]:
    """Yields whether this request may wait now; the slot is given back however it ends."""
    return _waiting.slot(user.pk, per_key=settings.MAX_WAITING_PER_USER, total=settings.MAX_WAITING_PER_PROCESS)
