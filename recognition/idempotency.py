"""Idempotency keys: a POST sent again with the same ``Idempotency-Key`` gets the first
answer back and creates nothing.

The key's row is inserted in the same transaction as what the request creates. A retry
that arrives while the first request is still creating blocks on the unique (owner, key)
index until the first commits, then reads and replays its answer; if the first fails, its
row goes with it and the retry runs as new. No check-then-insert window exists.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from recognition.models import IdempotencyKey


class KeyReused(Exception):
    """The key was used before with another request body."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: object
    location: str = ""


def idempotent_answer(*, owner, key: str, fingerprint: str,
                      create: Callable[[], Answer]) -> tuple[Answer, IdempotencyKey, bool]:
    """``create()``'s answer, run once per (owner, key) within IDEMPOTENCY_KEY_HOURS, in one
    transaction with the key's row; for a retry, the stored answer. Returns (answer, the
    key's row, replayed). Raises KeyReused for the same key with another ``fingerprint``."""
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                IdempotencyKey.objects.filter(owner=owner, key=key, expires_at__lte=now).delete()
                record = IdempotencyKey(owner=owner, key=key, fingerprint=fingerprint, status_code=0, body={},
                                        expires_at=now + timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS))
                record.save(force_insert=True)
        except IntegrityError:
            record = IdempotencyKey.objects.get(owner=owner, key=key)
            if record.fingerprint != fingerprint:
                raise KeyReused(key) from None
            return Answer(record.status_code, record.body, record.location), record, True
        answer = create()
        idempotent_answer_update(record=record, answer=answer)
    return answer, record, False


def idempotent_answer_update(*, record: IdempotencyKey, answer: Answer) -> None:
    """Store a later, final answer (a prediction waited for) to replay instead of the first."""
    record.status_code, record.body, record.location = answer.status_code, answer.body, answer.location
    record.save(update_fields=["status_code", "body", "location"])


def idempotency_keys_delete_expired() -> int:
    """Forget the keys older than IDEMPOTENCY_KEY_HOURS; returns how many."""
    return IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).delete()[0]
